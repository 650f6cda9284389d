"""The operator's switch for files on the relay rung, told to clients in `hello`'s ack."""

import pytest

from tests.support.hubserver import serve


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url


async def test_hello_says_files_may_take_the_relay_by_default(server):
    client = await server.client(name="Ana")
    ack = await client.call("hello", {})
    assert ack["ok"] and ack["relay_files"] is True
    await client.close()


async def test_the_operator_turns_file_relay_off(engine, db_settings):
    async with serve(engine, db_settings.model_copy(update={"relay_files": False})) as server:
        client = await server.client(name="Bo")
        assert (await client.call("hello", {}))["relay_files"] is False
        await client.close()


def test_the_switch_reads_its_variable(monkeypatch):
    from ephem.core.settings import Settings

    monkeypatch.setenv("EPHEM_RELAY_FILES", "false")
    assert Settings(secret=b"0123456789abcdef0123").relay_files is False
    monkeypatch.setenv("EPHEM_RELAY_FILES", "yes please")
    with pytest.raises(ValueError):
        Settings(secret=b"0123456789abcdef0123")
