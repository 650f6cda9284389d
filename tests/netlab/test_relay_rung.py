"""No WebRTC path at all for one peer (all UDP dropped, TURN out of reach): the pair chats through the server's relay."""

from tests.netlab.test_topologies import assert_chatted

# The LAN may reach the web site (the backend, TCP 443 on 100.64.0.11) and nothing else:
# no UDP anywhere, no TURN on 3478 or 443 of the TURN address.
ONLY_THE_WEB_SITE = """
table ip lab {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" ip daddr 100.64.0.11 tcp dport 443 accept
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "wan" masquerade
  }
}
"""


def test_with_udp_and_turn_blocked_the_pair_chats_through_the_relay(homes, chat):
    home_a = homes.home_behind_router("home-a", 1, ONLY_THE_WEB_SITE)
    home_b = homes.open_home("home-b", 2)
    a, b = chat(home_a, home_b, path="any")
    assert_chatted(a, b, 20)
    assert a["route"] == b["route"] == "relayed", (a["route"], b["route"])
    runs = chat.runs
    second_search = max(run.wait_for("searching", 1)["at"] for run in runs)
    first_message = min(run.wait_for("first", 1)["at"] for run in runs)
    print(f"netlab: first relayed message {first_message - second_search:.2f}s after the second Search")
    assert first_message - second_search < 3
