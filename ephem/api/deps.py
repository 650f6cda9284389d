"""What routes depend on: the caller's account, the domain services, rate limits."""

import functools
import ipaddress
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


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address per-client limits key on: the sender's own, unless the
    sender is a trusted proxy (`EPHEM_TRUSTED_PROXIES`); then the right-most
    X-Forwarded-For entry not itself a trusted proxy, the one a trusted proxy
    wrote (what the client put to the left of it is not believed)."""
    sender = request.client.host if request.client else "unknown"
    networks = _networks(get_settings().trusted_proxies)
    if not networks or not _trusted(sender, networks):
        return sender
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else sender


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
