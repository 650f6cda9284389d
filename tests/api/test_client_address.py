"""Per-address limits behind a reverse proxy: X-Forwarded-For is believed only from trusted proxies."""

import httpx
import pytest

from ephem.accounts import Accounts
from ephem.api import deps
from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.core.settings import Settings
from ephem.live.ratelimit import RateLimiter
from ephem.services import get_accounts


@pytest.fixture
def post(engine, db_settings, monkeypatch):
    """Sign up as sent from `sender` with these X-Forwarded-For headers; one sign-up per address."""
    api.dependency_overrides[get_accounts] = lambda: Accounts(engine, db_settings)
    limits = Limits(signup=RateLimiter(rate=0.0, burst=1))
    api.dependency_overrides[get_limits] = lambda: limits

    def trusting(proxies: str) -> None:
        trusted = Settings(db_url="sqlite://", secret=b"x" * 16, trusted_proxies=proxies)
        monkeypatch.setattr(deps, "get_settings", lambda: trusted)

    async def send(sender: str, *forwarded: str) -> int:
        transport = httpx.ASGITransport(app=api, client=(sender, 40000))
        headers = [("x-forwarded-for", value) for value in forwarded]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await client.post("/api/accounts", json={"name": "n"}, headers=headers)).status_code

    send.trusting = trusting
    yield send
    api.dependency_overrides.clear()


async def test_clients_behind_a_trusted_proxy_get_buckets_of_their_own(post):
    post.trusting("127.0.0.1, 10.0.0.0/8")
    assert await post("127.0.0.1", "198.51.100.1") == 201
    assert await post("127.0.0.1", "198.51.100.1") == 429
    assert await post("127.0.0.1", "198.51.100.2") == 201
    # Through two trusted proxies: the right-most entry no proxy of ours is the client.
    assert await post("127.0.0.1", "198.51.100.3, 10.1.2.3") == 201
    assert await post("127.0.0.1", "198.51.100.3", "10.1.2.3") == 429  # two headers are one list
    # What the client wrote to the left of its real address is not believed.
    assert await post("127.0.0.1", "198.51.100.9, 198.51.100.2") == 429
    # A request the proxy forwarded without the header counts as the proxy's own.
    assert await post("127.0.0.1") == 201
    assert await post("127.0.0.1") == 429


async def test_an_untrusted_senders_forwarded_for_is_ignored(post):
    post.trusting("10.0.0.0/8")
    assert await post("203.0.113.9", "198.51.100.7") == 201
    assert await post("203.0.113.9", "198.51.100.8") == 429
    assert await post("203.0.113.10", "203.0.113.9") == 201


async def test_by_default_no_one_is_trusted(post):
    post.trusting("")
    assert await post("127.0.0.1", "198.51.100.7") == 201
    assert await post("127.0.0.1", "198.51.100.8") == 429


def test_trusted_proxies_must_be_addresses_or_networks():
    settings = Settings(db_url="sqlite://", secret=b"x" * 16, trusted_proxies="10.0.0.0/8, ::1 ,127.0.0.1")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1", "127.0.0.1")
    with pytest.raises(ValueError, match="proxy.example"):
        Settings(db_url="sqlite://", secret=b"x" * 16, trusted_proxies="10.0.0.1,proxy.example")
