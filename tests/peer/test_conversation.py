"""The envelope rules and the conversation logic, without any network."""

import json

import pytest

from ephem.envelope import MAX_TEXT, make, parse
from ephem.peer.conversation import Conversation


class FakeLink:
    """A channel that records frames (test double for an RTCDataChannel)."""

    def __init__(self, account_id, open=True):
        self.account_id = account_id
        self.is_open = open
        self.frames: list[str] = []

    @property
    def open(self):
        return self.is_open

    @property
    def writable(self):
        return self.is_open

    def send_frame(self, frame):
        if not self.is_open:
            return False
        self.frames.append(frame)
        return True

    def sent(self, kind):
        return [json.loads(f) for f in self.frames if json.loads(f)["type"] == kind]


def test_envelopes_round_trip_and_bad_ones_are_dropped():
    env = make("chat", "acct", {"text": "سلام"})
    wire = json.loads(env.frame())
    assert set(wire) == {"v", "type", "id", "ts", "from", "payload"} and wire["v"] == 1
    assert parse(env.frame()) == env
    bad = [
        None, 5, "not json", "[]", json.dumps({**wire, "v": 2}), json.dumps({**wire, "payload": "x"}),
        json.dumps({**wire, "payload": {"text": "x" * (MAX_TEXT + 1)}}), json.dumps({**wire, "from": 3}),
        json.dumps({**wire, "type": "ack", "payload": {}}), json.dumps({**wire, "type": "typing", "payload": {"active": "y"}}),
        json.dumps({**wire, "type": "call", "payload": {"video": True}}),
        "x" * 70_000,
    ]
    assert [parse(b) for b in bad] == [None] * len(bad)
    call = {"active": True, "audio": False, "video": True, "screen": False}
    assert parse(json.dumps({**wire, "type": "call", "payload": call})).payload == call
    assert parse(json.dumps({**wire, "type": "future"})).type == "future"  # unknown types pass, to be ignored


def test_delivery_lifecycle_with_acks_from_every_recipient():
    me = Conversation("me", "Me")
    a, b = FakeLink("a"), FakeLink("b")
    for link in (a, b):
        me.link_added(link)
        me.link_open(link)
    message = me.send("hi all")
    assert message.status == "sent" and message.pending == {"a", "b"}
    me.receive(a, make("ack", "a", {"of": message.id}).frame())
    assert message.status == "sent"
    me.receive(b, make("ack", "b", {"of": message.id}).frame())
    assert message.status == "delivered"
    me.receive(b, make("ack", "a", {"of": message.id}).frame())  # spoofed sender: ignored
    with pytest.raises(ValueError):
        me.send("   ")
    with pytest.raises(ValueError):
        me.send("x" * (MAX_TEXT + 1))


def test_received_chats_are_acked_every_time_and_shown_once():
    shown = []
    me = Conversation("me", "Me", lambda kind, item: shown.append(item) if kind == "message" else None)
    a = FakeLink("a")
    me.link_added(a)
    me.receive(a, make("hello", "a", {"name": "Ana"}).frame())
    frame = make("chat", "a", {"text": "once"}).frame()
    me.receive(a, frame)
    me.receive(a, frame)
    assert [m.text for m in shown] == ["once"] and shown[0].name == "Ana"
    assert len(a.sent("ack")) == 2
    me.receive(a, make("future-type", "a", {}).frame())  # ignored
    assert len(shown) == 1


def test_outbox_survives_a_reconnect_in_order_and_lonely_messages_reach_everyone():
    me = Conversation("me", "Me")
    lonely = me.send("anyone?")
    assert lonely.unaddressed and lonely.status == "sending"
    first = FakeLink("a", open=False)
    me.link_added(first)
    queued = me.send("while connecting")
    assert queued.status == "sending"
    first.is_open = True
    me.link_open(first)
    assert [f["payload"]["text"] for f in first.sent("chat")] == ["anyone?", "while connecting"]  # written order
    assert queued.status == lonely.status == "sent"

    me.link_closed(first, now=0)
    assert me.members["a"].state == "reconnecting"
    again = FakeLink("a")
    me.link_added(again)
    me.link_open(again)  # unacked messages go out again, in order; the receiver drops duplicates
    assert [f["payload"]["text"] for f in again.sent("chat")] == ["anyone?", "while connecting"]
    for message in (lonely, queued):
        me.receive(again, make("ack", "a", {"of": message.id}).frame())
    assert lonely.status == queued.status == "delivered"

    later = FakeLink("b")
    me.link_added(later)
    me.link_open(later)
    assert [f["payload"]["text"] for f in later.sent("chat")] == ["anyone?"]  # written to whoever arrives
    assert lonely.pending == {"b"}


def test_a_member_gone_past_the_grace_period_is_shown_as_left_but_still_owed():
    me = Conversation("me", "Me")
    a, b = FakeLink("a"), FakeLink("b")
    for link in (a, b):
        me.link_added(link)
        me.link_open(link)
    me.member("b", "Bo")
    message = me.send("hello")
    me.receive(a, make("ack", "a", {"of": message.id}).frame())
    me.link_closed(b, now=100)
    assert me.expire(grace=20, now=110) == []
    assert me.expire(grace=20, now=121) == ["Bo"]
    assert message.status == "sent"  # Bo never acked: not delivered
    assert me.send("after").pending == {"a"}
    back = FakeLink("b")
    me.link_added(back)
    me.link_open(back)
    assert [f["payload"]["text"] for f in back.sent("chat")] == ["hello"]
    me.leave("b")  # gone for good: nobody waits for Bo
    assert message.status == "delivered"
