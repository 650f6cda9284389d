"""Each `/ephem` connection's language: its answers, refusals and pushed
errors are said in it (an addition to the contract).

A client names it with `lang` in the connect `auth` or in `hello` (a tag such
as "fa-IR", an Accept-Language value or a list of tags); without one it gets
English. Codes never change. The hub produces English text made with
`ephem.i18n.N_`, and this module says it again where it leaves: the ack of
every event (`in_connection_language`), the connect refusal, and `emit` of
an error-shaped payload (`Localized`), to a connection of this worker in
its own language, else (a room, another worker's connection) in the
language of the connection or request that caused it (`ephem.i18n.current`).
"""

import functools
from typing import Any

import socketio

from ephem.i18n import DEFAULT, current, localize, negotiate, translate


def requested(value: Any) -> str | None:
    """The language a client's `lang` asks for, or None when it names none."""
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(tag, str) for tag in value)):
        return negotiate(value, default=None) or DEFAULT
    return None


def in_connection_language(trigger_event):
    """Wraps the hub's `trigger_event`: the connection's language for the
    event (and whatever it spawns), and its answer said in it."""

    @functools.wraps(trigger_event)
    async def answer(self, event: str, *args):
        if event == "disconnect" or not args:
            return await trigger_event(self, event, *args)
        sid = args[0]
        if event == "connect":
            auth = args[2] if len(args) > 2 else None
            lang = (requested(auth.get("lang")) if isinstance(auth, dict) else None) or DEFAULT
            token = current.set(lang)
            try:
                result = await trigger_event(self, event, *args)
            except socketio.exceptions.ConnectionRefusedError as exc:
                raise _refusal_in(exc, lang) from None
            finally:
                current.reset(token)
            peer = self._by_sid.get(sid)
            if peer is not None:
                peer.lang = lang
            return result
        peer = self._by_sid.get(sid)
        lang = peer.lang if peer is not None else DEFAULT
        if event == "hello" and peer is not None and len(args) == 2 and isinstance(args[1], dict):
            lang = requested(args[1].get("lang")) or lang
        token = current.set(lang)
        try:
            result = await trigger_event(self, event, *args)
        finally:
            current.reset(token)
        if event == "hello" and isinstance(result, dict) and result.get("ok") is True and peer is not None:
            peer.lang = lang
            result = {**result, "lang": lang}
        return localize(result, lang)

    return answer


def _refusal_in(exc: socketio.exceptions.ConnectionRefusedError, lang: str):
    data = exc.error_args.get("data")
    if not isinstance(data, dict) or "message" not in data:
        return exc
    message = translate(data["message"], lang)
    return socketio.exceptions.ConnectionRefusedError(message, {**data, "message": message})


class Localized:
    """Mixed into the hub, before `socketio.AsyncNamespace`: an error-shaped
    payload it emits is said in its recipient's language."""

    async def emit(self, event, data=None, to=None, room=None, **kwargs):
        if isinstance(data, dict) and data.get("ok") is False:
            target = to or room
            data = localize(data, self.language_of(target) if isinstance(target, str) else current.get())
        return await super().emit(event, data, to=to, room=room, **kwargs)

    def language_of(self, sid: str) -> str:
        """The language of this worker's connection `sid`; else (a room, another
        worker's connection) that of whoever caused what is being said."""
        peer = self._by_sid.get(sid)
        return peer.lang if peer is not None else current.get()
