"""The process-wide domain services, built once from the settings."""

import functools

from ephem.accounts import Accounts
from ephem.db import get_engine
from ephem.settings import get_settings


@functools.cache
def get_accounts() -> Accounts:
    return Accounts(get_engine(), get_settings())
