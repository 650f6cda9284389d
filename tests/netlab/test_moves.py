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
        # An ICE pair, not the server's relay; aioice nominates the first pair that
        # answers, which is now and then the one through the other side's TURN relay.
        assert {line["route"]["local"], line["route"]["remote"]} <= DIRECT | {"relay"}, line["route"]
    # The moved side speaks from its new address (unless it is the one relayed, from its TURN allocation).
    if rounds[0]["route"]["local"] != "relay":
        assert rounds[0]["route"]["local_address"].startswith(f"{moved.address}:"), rounds[0]["route"]
        assert rounds[1]["route"]["remote_address"].startswith(f"{moved.address}:"), rounds[1]["route"]


def browser_and_python_across_a_move(homes, secure_browsers, chat_peers, moving: str) -> None:
    """A browser (HTTPS page) and a Python peer chat a round; `moving` ("browser" or "python") moves; a second round."""
    home_a, home_b = homes.open_home("home-a", 1), homes.open_home("home-b", 2)
    a = secure_browsers(home_a, "A", "--count", "3", "--rounds", "2")
    b = chat_peers(home_b, "B", "--count", "3", "--rounds", "2")
    a.wait_for("round", 90)
    b.wait_for("round", 60)
    homes.move(home_a if moving == "browser" else home_b, 3)
    a.say()
    b.say()
    a_round, b_round = a.wait_for_nth("round", 2, 30), b.wait_for_nth("round", 2, 30)
    b_done = b.wait_for("done", 10)
    print(f"netlab: after the {moving} moved, the browser is back in {a_round['seconds']}s ({a_round['row']}),"
          f" the Python peer in {b_round['seconds']}s on {b_round['route']}")
    theirs = [m["text"] for m in a_round["messages"] if not m["mine"]]
    mine = [m for m in a_round["messages"] if m["mine"]]
    assert theirs == [f"B {i}" for i in range(6)], a_round["messages"]
    assert [m["text"] for m in mine] == [f"A {r}-{i}" for r in range(2) for i in range(3)], a_round["messages"]
    assert {m["status"] for m in mine} == {"delivered"}, a_round["messages"]
    assert b_done["received"] == [f"A {r}-{i}" for r in range(2) for i in range(3)], b_done
    for seconds in (a_round["seconds"], b_round["seconds"]):
        assert seconds < 10, (a_round, b_round)


def test_a_browser_whose_address_moves_comes_back_to_its_python_peer(homes, secure_browsers, chat_peers):
    browser_and_python_across_a_move(homes, secure_browsers, chat_peers, "browser")


def test_a_python_peer_whose_address_moves_comes_back_to_its_browser(homes, secure_browsers, chat_peers):
    browser_and_python_across_a_move(homes, secure_browsers, chat_peers, "python")
