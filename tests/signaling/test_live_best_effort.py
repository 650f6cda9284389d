"""Actions change the database first; a live side out of reach cannot undo that."""

import pytest
from redis.asyncio import Redis

from ephem.actions import Actions
from ephem.errors import InvalidToken, NotFound
from ephem.live.matchmaking import InMemoryMatchmaker
from ephem.live.presence_redis import RedisPresence
from ephem.signaling.hub import Hub
from tests.support.live_app import free_port


@pytest.fixture
def actions(accounts, enclaves, db_settings) -> Actions:
    nowhere = Redis(port=free_port(), retry=None)  # nothing listens there: refused at once
    hub = Hub(accounts, enclaves, RedisPresence(nowhere, "away", lease=1), InMemoryMatchmaker(), db_settings)
    return Actions(accounts, enclaves, hub)


async def test_leave_delete_and_sign_out_hold_while_redis_is_away(actions, accounts, enclaves, caplog):
    ana, bo = accounts.create("Ana", True), accounts.create("Bo", True)
    enclave = enclaves.create_many([[ana.account.id, bo.account.id]])[0]

    with caplog.at_level("WARNING"):
        await actions.leave_enclave(enclave.id, bo.account.id)
        await actions.sign_out(ana.session_token)
        await actions.delete_account(bo.account.id)

    assert not enclaves.is_member(enclave.id, bo.account.id)
    with pytest.raises(InvalidToken):
        accounts.authenticate(ana.session_token)
    with pytest.raises(InvalidToken):
        accounts.authenticate(bo.session_token)
    with pytest.raises(NotFound):
        enclaves.get(enclave.id, bo.account.id)
    assert "Traceback" not in caplog.text
