"""The REST API in-process (httpx over ASGI), on the test's database: what the
API and i18n tests talk to."""

from contextlib import asynccontextmanager

import httpx

from ephem.accounts import Accounts
from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.services import get_accounts


@asynccontextmanager
async def rest_client(engine, db_settings, limits: Limits | None = None, overrides: dict | None = None):
    """A client of the app over `engine`, with fresh rate limits (or `limits`)
    and any other dependency `overrides`; every override is undone after."""
    limits = limits if limits is not None else Limits()
    api.dependency_overrides[get_accounts] = lambda: Accounts(engine, db_settings)
    api.dependency_overrides[get_limits] = lambda: limits
    api.dependency_overrides.update(overrides or {})
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        api.dependency_overrides.clear()
