"""The short way in for `/_event` websockets (ephem/signaling/route.py): only
websockets under the mount take it, with the Reflex contexts entered first and
the scope's root path as Starlette's mount sets it; everything else goes the
usual way, through the full app."""

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from ephem.signaling.route import EventSocketRoute, mounted_at


class Recorder:
    """An ASGI app that notes the scopes it was called with."""

    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    async def __call__(self, scope, receive, send):
        self.log.append((self.name, scope["type"], scope.get("path"), scope.get("root_path")))


@pytest.fixture
def route():
    log: list = []
    entered: list = []
    app = EventSocketRoute(Recorder("app", log), Recorder("socket", log), "/_event", lambda: entered.append(True))
    return app, log, entered


@pytest.mark.parametrize("path", ["/_event", "/_event/"])
async def test_event_websockets_go_straight_to_the_socket_app_with_contexts(route, path):
    app, log, entered = route
    await app({"type": "websocket", "path": path, "root_path": ""}, None, None)
    assert log == [("socket", "websocket", path, "/_event")]
    assert entered == [True]


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "http", "path": "/_event/"},  # polling: answered by the full stack (refused there)
        {"type": "websocket", "path": "/_eventful"},
        {"type": "websocket", "path": "/other"},
        {"type": "lifespan"},
    ],
)
async def test_everything_else_takes_the_usual_way(route, scope):
    app, log, entered = route
    await app(dict(scope), None, None)
    assert [name for name, *_ in log] == ["app"]
    assert entered == []


def test_the_mounted_app_is_found_by_its_path():
    log: list = []
    inner = Recorder("socket", log)
    router = Starlette(routes=[Mount("/api", Recorder("api", log)), Mount("/_event", inner)])
    assert mounted_at(router.routes, "/_event") is inner
    with pytest.raises(LookupError):
        mounted_at(router.routes, "/nowhere")
