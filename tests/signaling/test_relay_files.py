"""The operator's switch for files on the relay rung, told to clients in `hello`'s ack."""

import pytest

from tests.support.hubserver import serve


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url


async def test_hello_says_files_may_take_the_relay_by_default(server):
    client = await server.client(name="Ana")
    ack = await client.call("hello", {})
    assert ack["ok"] and ack["relay_files"] is True and ack["file_max_bytes"] == 2 * 1024**3
    await client.close()


async def test_the_operator_turns_file_relay_off(engine, db_settings):
    async with serve(engine, db_settings.model_copy(update={"relay_files": False, "file_max_bytes": 1000})) as server:
        client = await server.client(name="Bo")
        ack = await client.call("hello", {})
        assert (ack["relay_files"], ack["file_max_bytes"]) == (False, 1000)
        await client.close()

        from ephem.peer import EphemPeer

        peer = await EphemPeer.sign_up(server.url, "Py")
        try:
            await peer.connect()
            assert (peer.relay_files, peer.files.max_bytes) == (False, 1000)
        finally:
            await peer.close()


def test_the_switch_reads_its_variable(monkeypatch):
    from ephem.core.settings import Settings

    monkeypatch.setenv("EPHEM_RELAY_FILES", "false")
    assert Settings(secret=b"0123456789abcdef0123").relay_files is False
    monkeypatch.setenv("EPHEM_RELAY_FILES", "yes please")
    with pytest.raises(ValueError):
        Settings(secret=b"0123456789abcdef0123")
