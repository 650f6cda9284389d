"""What routes depend on: the caller's account, the domain services, rate limits."""

import functools
import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from ephem.accounts import Accounts
from ephem.actions import Actions, Live
from ephem.api.errors import ApiError
from ephem.enclaves import Enclaves
from ephem.errors import InvalidToken
from ephem.i18n import N_, NP_
from ephem.live.ratelimit import RateLimiter
from ephem.models import Account
from ephem.safety import Safety
from ephem.live.proofs import Proofs
from ephem.services import get_accounts, get_enclaves, get_live, get_proofs, get_safety, rate_limiter
from ephem.core import addresses
from ephem.core.settings import get_settings


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken(N_("Send your session token as `Authorization: Bearer <token>`."))
    return token.strip()


def current_account(request: Request, accounts: Annotated[Accounts, Depends(get_accounts)]) -> Account:
    return accounts.authenticate(bearer_token(request))


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
EnclavesDep = Annotated[Enclaves, Depends(get_enclaves)]
SafetyDep = Annotated[Safety, Depends(get_safety)]


def get_actions(accounts: AccountsDep, enclaves: EnclavesDep, live: Annotated[Live, Depends(get_live)]) -> Actions:
    return Actions(accounts, enclaves, live)


ActionsDep = Annotated[Actions, Depends(get_actions)]
Me = Annotated[Account, Depends(current_account)]


class Limits:
    """Creating accounts and guessing recovery tokens are the two things worth
    flooding; both are limited per client address. So are blocks, reports and
    removals (`safety`), which write rows."""

    def __init__(
        self,
        signup: RateLimiter | None = None,
        restore: RateLimiter | None = None,
        safety: RateLimiter | None = None,
    ):
        settings = get_settings()
        self.signup = signup or rate_limiter("signup", settings.signup_rate, settings.signup_burst)
        self.restore = restore or rate_limiter("restore", 0.2, 10)
        self.safety = safety or rate_limiter("safety", 0.5, 20)
        self.challenge = rate_limiter("challenge", 1, 30)


@functools.cache
def get_limits() -> Limits:
    return Limits()


def client_address(request: Request) -> str:
    """The address per-client limits key on (see ephem.core.addresses)."""
    sender = request.client.host if request.client else "unknown"
    return addresses.client_address(sender, request.headers.getlist("x-forwarded-for"), get_settings().trusted_proxies)


LimitsDep = Annotated[Limits, Depends(get_limits)]
ProofsDep = Annotated[Proofs, Depends(get_proofs)]


async def within(limiter, client: str, extra: Callable[[], dict] = dict) -> None:
    """Raises `rate_limited` when `client` has no token left in `limiter`;
    `extra()` adds fields to the error (a challenge that gets past it)."""
    if not await limiter.allow(client):
        details = extra()
        if limiter.rate <= 0:
            raise ApiError(429, "rate_limited", N_("Too many attempts."), details=details)
        wait = math.ceil(1 / limiter.rate)  # when the bucket next holds a whole token, at the latest
        message = NP_("Too many attempts. Try again in {n} second.", "Too many attempts. Try again in {n} seconds.", wait)
        raise ApiError(429, "rate_limited", message, {"Retry-After": str(wait)}, details)


def limited(kind: str):
    async def check(request: Request, limits: Annotated[Limits, Depends(get_limits)]) -> None:
        await within(getattr(limits, kind), client_address(request))

    return Depends(check)
