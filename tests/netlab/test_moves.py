"""A peer's address changes mid-chat (Wi-Fi to mobile): the chat comes back, nothing lost, nothing twice.

aiortc has no ICE restart: the Python peer that moved notices its address
is gone (netwatch.py), reconnects its socket from the new one and rebuilds
its link on a fresh connection; the conversation resends what was not acked.
"""

import time

from tests.netlab.test_topologies import DIRECT, texts


def test_a_python_peer_whose_address_moves_rebuilds_its_link(homes, chat_peers):
    home_a, home_b = homes.open_home("home-a", 1), homes.open_home("home-b", 2)
    a = chat_peers(home_a, "A", "--count", "5", "--rounds", "2")
    time.sleep(0.2)
    b = chat_peers(home_b, "B", "--count", "5", "--rounds", "2")
    for run in (a, b):
        run.wait_for("round", 60)
    moved = homes.move(home_a, 3)
    # Both write at once, onto the path that just died: those messages must come through too.
    a.say()
    b.say()
    rounds = [run.wait_for_nth("round", 2, 30) for run in (a, b)]
    done = [run.wait_for("done", 10) for run in (a, b)]
    for run, line in zip((a, b), rounds):
        print(f"netlab: {run.name} back after the move in {line['seconds']}s on {line['route']}")
    assert done[0]["received"] == texts("B", 10)
    assert done[1]["received"] == texts("A", 10)
    for line in rounds:
        assert line["seconds"] < 10, line
        assert {line["route"]["local"], line["route"]["remote"]} <= DIRECT, line["route"]
    assert rounds[0]["route"]["local_address"].startswith(f"{moved.address}:"), rounds[0]["route"]
    assert rounds[1]["route"]["remote_address"].startswith(f"{moved.address}:"), rounds[1]["route"]
