"""The namespace with the reference JavaScript client, socket.io-client, from Node."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(params=["sqlite"])
def db_url(request):
    # One database is enough here: this test is about the client, not storage.
    return request.getfixturevalue("sqlite_url")


async def test_match_and_signal_with_socket_io_client(server):
    node = shutil.which("node")
    assert node, "node is needed for this test (Debian's nodejs)"
    assert (NODE_DIR / "node_modules/socket.io-client").is_dir(), "run `make test` to install tests/node"
    proc = await asyncio.create_subprocess_exec(
        node, str(NODE_DIR / "match_and_signal.mjs"), server.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["refused"]["code"] == "invalid_token"
    assert result["searchAck"] == {"ok": True, "status": "searching"}
    assert result["sameEnclave"] is True
    assert result["matchedNames"] == ["Node B", "Node A"]
    assert result["peersOnJoin"] == [result["helloA"]]
    assert result["signalAck"] == {"ok": True}
    assert result["signal"]["from"] == result["helloB"]
    assert result["signal"]["data"] == {"type": "offer", "sdp": "v=0\r\n"}
    assert result["bad"]["error"]["code"] == "unknown_peer"
