"""A short way in for the Socket.IO websockets at `/_event`.

Reflex mounts its Socket.IO app at `/_event` under three Starlette
applications (its own, our FastAPI app, its inner one), each with its error,
CORS and exception middlewares and its router. A websocket lives for hours,
and the whole chain stays suspended under it: about 20 coroutines, closures
and wrapped `send` functions per connection (some 14 KB, a quarter of what an
idle connection cost, `bench/memory.py`), and every frame sent walks through
the wrappers. None of them does anything for a websocket: the error and CORS
middlewares pass websockets straight on, the exception middleware only turns
a Starlette `WebSocketException` (which Engine.IO never raises) into a close,
and the routers only find the mount. So websockets for `/_event` go straight
to the app Reflex mounted there (its header middleware and the Engine.IO
app), with the Reflex contexts its own top middleware sets; everything else
(HTTP, lifespan, other paths) takes the usual way.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from reflex_base import constants
from reflex_base.config import get_config
from starlette.routing import Mount

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def mounted_at(routes: list, path: str) -> ASGIApp:
    """The app a router mounts at `path`."""
    for route in routes:
        if isinstance(route, Mount) and route.path == path:
            return route.app
    raise LookupError(f"nothing is mounted at {path}")


class EventSocketRoute:
    """ASGI: websockets under `prefix` to `socket_app`, after `enter()`; the rest to `app`."""

    def __init__(self, app: ASGIApp, socket_app: ASGIApp, prefix: str, enter: Callable[[], object]):
        self.app, self.socket_app, self.enter = app, socket_app, enter
        self.prefix, self.under = prefix, prefix + "/"

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"]
            if path == self.prefix or path.startswith(self.under):
                self.enter()
                # What Starlette's mount would have added: where the mount is.
                scope["root_path"] = scope.get("root_path", "") + self.prefix
                await self.socket_app(scope, receive, send)
                return
        await self.app(scope, receive, send)


def with_event_sockets(rx_app, asgi_app: ASGIApp) -> ASGIApp:
    """`asgi_app` (what `rx.App.__call__` built) with the short way in for `/_event` websockets."""
    prefix = get_config().prepend_backend_path(str(constants.Endpoint.EVENT))
    return EventSocketRoute(asgi_app, mounted_at(rx_app._api.routes, prefix), prefix, rx_app._set_contexts_internal)
