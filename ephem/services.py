"""The process-wide domain services, built once from the settings."""

import functools

from ephem.accounts import Accounts
from ephem.db import get_engine
from ephem.enclaves import Enclaves
from ephem.matchmaking import InMemoryMatchmaker
from ephem.presence import Presence
from ephem.settings import get_settings
from ephem.signaling import Hub


@functools.cache
def get_accounts() -> Accounts:
    return Accounts(get_engine(), get_settings())


@functools.cache
def get_enclaves() -> Enclaves:
    return Enclaves(get_engine(), get_settings())


@functools.cache
def get_hub() -> Hub:
    return Hub(get_accounts(), get_enclaves(), Presence(), InMemoryMatchmaker(), get_settings())
