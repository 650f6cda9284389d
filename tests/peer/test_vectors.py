"""The shared envelope and conversation cases, run against the Python side.

tests/vectors/envelope_conversation.json is read by tests/js/vectors.test.mjs
too: one set of cases keeps ephem/envelope.py and ephem/peer/conversation.py
in step with their browser twins in assets/ephem/.
"""

import json
from pathlib import Path

import pytest

from ephem.envelope import Envelope, parse
from ephem.peer.conversation import Conversation

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "envelope_conversation.json").read_text("utf-8"))
TS = "2025-01-01T00:00:00.000Z"


def joined(parts):
    return "".join(piece * times for piece, times in parts)


def raw_of(case):
    if "raw_parts" in case:
        return joined(case["raw_parts"])
    return case["raw"] if "raw" in case else case["raw_value"]


@pytest.mark.parametrize("case", VECTORS["parse"], ids=lambda c: c["name"])
def test_parse(case):
    envelope = parse(raw_of(case))
    assert (envelope is not None) == case["valid"]
    if case["valid"]:
        assert envelope.type == case["type"]


@pytest.mark.parametrize("case", VECTORS["build"], ids=lambda c: c["name"])
def test_build(case):
    built = Envelope(case["type"], case["id"], case["ts"], case["from"], case["payload"])
    assert built.frame() == case["frame"]
    assert parse(case["frame"]) == built


@pytest.mark.parametrize("case", VECTORS["text"], ids=lambda c: c["name"])
def test_text(case):
    text = case["text"] if "text" in case else joined(case["text_parts"])
    conversation = Conversation("me", "Me")
    if not case["ok"]:
        with pytest.raises(ValueError):
            conversation.send(text)
        return
    assert conversation.send(text).text == case.get("clean", text.strip())


class Link:
    """A channel that records frames (test double for an RTCDataChannel)."""

    def __init__(self, account_id, open, writable):
        self.account_id, self.open, self.writable, self.frames = account_id, open, writable, []

    def send_frame(self, frame):
        if not self.open:
            return False
        self.frames.append(frame)
        return True


def frame(type_, sender, payload, ident):
    return json.dumps({"v": 1, "type": type_, "id": ident, "ts": TS, "from": sender, "payload": payload})


@pytest.mark.parametrize("scenario", VECTORS["conversation"], ids=lambda s: s["name"])
def test_conversation(scenario):
    me = Conversation("me", "Me")
    links, labels, acks = {}, {}, iter(range(1_000_000))
    label_of = {}  # message id -> label
    ident = lambda label: labels.get(label, label)  # noqa: E731

    for step in scenario["steps"]:
        op = step["op"]
        if op == "link":
            link = links[step["link"]] = Link(step["account"], step["open"], step.get("writable", True))
            me.link_added(link)
            if link.open:
                me.link_open(link)
        elif op == "open":
            links[step["link"]].open = True
            me.link_open(links[step["link"]])
        elif op == "close":
            links[step["link"]].open = False
            me.link_closed(links[step["link"]])
        elif op == "writable":
            links[step["link"]].writable = True
        elif op == "flush":
            me.flush(step["account"])
        elif op == "leave":
            me.leave(step["account"])
        elif op == "send":
            message = me.send(step["text"])
            labels[step["as"]], label_of[message.id] = message.id, step["as"]
        elif op in ("ack", "chat", "hello", "frame"):
            link = links[step["link"]]
            if op == "ack":
                raw = frame("ack", step["from"], {"of": ident(step["of"])}, f"ack-{next(acks)}")
            elif op == "chat":
                raw = frame("chat", step["from"], {"text": step["text"]}, ident(step["id"]))
            elif op == "hello":
                raw = frame("hello", step["from"], {"name": step["name"]}, f"hello-{next(acks)}")
            else:
                raw = step["raw"]
            me.receive(link, raw)
        elif op == "expect":
            check(step, me, links, ident, lambda i: label_of.get(i, i))
        else:
            raise AssertionError(f"unknown op {op}")


def check(expect, me, links, ident, label):
    messages = list(me.messages.values())
    if "messages" in expect:
        assert [[label(m.id), m.status] for m in messages] == expect["messages"]
    for name, pending in expect.get("pending", {}).items():
        assert sorted(me.messages[ident(name)].pending) == pending, name
    for name, text in expect.get("texts", {}).items():
        assert me.messages[ident(name)].text == text
    for name, sender in expect.get("senders", {}).items():
        assert me.messages[ident(name)].name == sender
    for account, state in expect.get("members", {}).items():
        assert me.members[account].state == state, account
    for account, name in expect.get("names", {}).items():
        assert me.members[account].name == name
    for link, frames in expect.get("frames", {}).items():
        sent = [json.loads(f) for f in links[link].frames]
        shown = [f"{f['type']} {label(f['payload']['of'] if f['type'] == 'ack' else f['id'])}" for f in sent]
        assert shown == frames, link
