"""One enclave's conversation, independent of any transport.

The same rules as the browser module: every member account has an outbox of
message ids waiting for an open channel; a message is `sent` once it is on a
channel and `delivered` once every account that was a recipient when it was
sent has acked it; received chats are acked every time and shown once; a
peer that vanishes is "reconnecting" for a grace period before it has "left".
An account the user blocked (`blocked`) gets nothing from us, as in the
browser (mesh.js filters the conversation's links); its frames are dropped
before they get here (client.py).
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ephem.envelope import MAX_TEXT, Envelope, make, parse

SEEN_MAX = 5000
MESSAGES_MAX = 2000  # kept in memory; older settled ones are dropped


class Link(Protocol):
    account_id: str

    @property
    def open(self) -> bool: ...

    @property
    def writable(self) -> bool: ...

    def send_frame(self, frame: str) -> bool: ...


@dataclass
class Message:
    id: str
    ts: str
    sender: str
    name: str
    text: str
    mine: bool
    status: str = "sending"  # sending | sent | delivered
    pending: set[str] = field(default_factory=set)  # accounts that still owe an ack
    sent_to: set[str] = field(default_factory=set)
    envelope: Envelope | None = None
    unaddressed: bool = False  # written while nobody was there: goes to everyone who arrives


@dataclass
class Member:
    name: str = ""
    outbox: list[str] = field(default_factory=list)
    state: str = "connecting"  # connecting | open | reconnecting | left
    gone_at: float | None = None


class Conversation:
    def __init__(
        self,
        account_id: str,
        name: str,
        on_change: Callable[[str, object], None] = lambda kind, item: None,
        blocked: Callable[[str], bool] = lambda account_id: False,
    ):
        self.account_id = account_id
        self.blocked = blocked
        self.name = name
        self.on_change = on_change
        self.members: dict[str, Member] = {}
        self.messages: OrderedDict[str, Message] = OrderedDict()
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.typing: dict[str, float] = {}
        self.links: list[Link] = []

    # --- membership -------------------------------------------------------------

    def member(self, account_id: str, name: str = "") -> Member:
        member = self.members.setdefault(account_id, Member())
        if name:
            member.name = name
        return member

    def link_added(self, link: Link) -> None:
        if link not in self.links:
            self.links.append(link)
        member = self.member(link.account_id)
        member.gone_at = None
        if member.state == "left":
            member.state = "connecting"

    def link_open(self, link: Link) -> None:
        """A channel opened: everything that account has not acked goes (again), in order."""
        account_id = link.account_id
        member = self.member(account_id)
        member.state = "open"
        for message in self.messages.values():
            if message.mine and message.unaddressed and account_id not in message.sent_to:
                message.pending.add(account_id)
        member.outbox = [m.id for m in self.messages.values() if m.mine and account_id in m.pending]
        self.flush(account_id)

    def link_closed(self, link: Link, now: float | None = None) -> None:
        if link in self.links:
            self.links.remove(link)
        if not any(other.account_id == link.account_id for other in self.links):
            member = self.member(link.account_id)
            member.state = "reconnecting"
            member.gone_at = now if now is not None else time.monotonic()

    def expire(self, grace: float, now: float | None = None) -> list[str]:
        """Members reconnecting for longer than `grace` are shown as left; returns their names.

        They stay owed what they have not acked: should they come back, it goes out again.
        """
        now = now if now is not None else time.monotonic()
        left = []
        for account_id, member in self.members.items():
            if member.state == "reconnecting" and member.gone_at is not None and now - member.gone_at >= grace:
                member.state, member.gone_at = "left", None
                self.typing.pop(account_id, None)
                left.append(member.name or account_id)
        return left

    def leave(self, account_id: str) -> None:
        """The member left the enclave for good: nobody waits for their acks any more."""
        member = self.member(account_id)
        member.state, member.outbox, member.gone_at = "left", [], None
        self.typing.pop(account_id, None)
        for message in self.messages.values():
            if message.mine and account_id in message.pending:
                message.pending.discard(account_id)
                self._settle(message)

    # --- sending ------------------------------------------------------------------

    def send(self, text: str) -> Message:
        clean = text.strip()
        if not clean:
            raise ValueError("An empty message is not sent.")
        if len(clean) > MAX_TEXT:
            raise ValueError(f"Messages are limited to {MAX_TEXT} characters.")
        envelope = make("chat", self.account_id, {"text": clean})
        recipients = {a for a, m in self.members.items() if a != self.account_id and m.state != "left"}
        message = Message(
            envelope.id, envelope.ts, self.account_id, self.name, clean, True,
            pending=set(recipients), envelope=envelope, unaddressed=not recipients,
        )
        self._remember(message.id)
        self._keep(message)
        for account_id in recipients:
            self.members[account_id].outbox.append(message.id)
        for account_id in recipients:
            self.flush(account_id)
        return message

    def flush(self, account_id: str) -> None:
        member = self.members.get(account_id)
        links = [link for link in self.links if link.account_id == account_id and link.open]
        if member is None or not links or self.blocked(account_id):
            return
        while member.outbox and all(link.writable for link in links):
            message = self.messages.get(member.outbox[0])
            if message is not None and message.envelope is not None:
                if not any([link.send_frame(message.envelope.frame()) for link in links]):
                    break
                message.sent_to.add(account_id)
                if message.status == "sending":
                    message.status = "sent"
                    self.on_change("status", message)
            member.outbox.pop(0)

    def typing_frame(self, active: bool) -> str:
        return make("typing", self.account_id, {"active": active}).frame()

    def broadcast(self, frame: str) -> None:
        for link in self.links:
            if not self.blocked(link.account_id):
                link.send_frame(frame)

    # --- receiving ------------------------------------------------------------------

    def receive(self, link: Link, raw: object) -> None:
        envelope = parse(raw)
        if envelope is None or envelope.sender != link.account_id:
            return  # malformed, or a peer speaking for someone else
        sender = envelope.sender
        if envelope.type == "hello":
            self.member(sender, envelope.payload["name"][:64])
        elif envelope.type == "chat":
            link.send_frame(make("ack", self.account_id, {"of": envelope.id}).frame())
            if envelope.id in self.seen:
                return
            self._remember(envelope.id)
            self.typing.pop(sender, None)
            message = Message(
                envelope.id, envelope.ts, sender, self.member(sender).name, envelope.payload["text"], False, "delivered"
            )
            self._keep(message)
            self.on_change("message", message)
        elif envelope.type == "ack":
            message = self.messages.get(envelope.payload["of"])
            if message is not None and message.mine and sender in message.pending:
                message.pending.discard(sender)
                self._settle(message)
        elif envelope.type == "typing":
            if envelope.payload["active"]:
                self.typing[sender] = time.monotonic()
            else:
                self.typing.pop(sender, None)
            self.on_change("typing", sender)

    def _settle(self, message: Message) -> None:
        if not message.pending and message.sent_to and message.status != "delivered":
            message.status = "delivered"
            self.on_change("status", message)

    def _keep(self, message: Message) -> None:
        self.messages[message.id] = message
        while len(self.messages) > MESSAGES_MAX:
            oldest = next(iter(self.messages.values()))
            if oldest.mine and (oldest.pending or oldest.status == "sending"):
                break  # still owed to someone: keep it
            self.messages.popitem(last=False)

    def _remember(self, message_id: str) -> None:
        self.seen[message_id] = None
        while len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)
