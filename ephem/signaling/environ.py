"""The Engine.IO environ of an ASGI request, as python-engineio's ASGI driver
builds it, without the class that driver defines inside its function: a new
class object (with its methods) made for every request and kept, through the
environ, for as long as the connection lives."""

import sys


class _Payload:
    """engine.io's `AwaitablePayload` (the request body as `wsgi.input`), made once."""

    __slots__ = ("event", "receive", "payload")

    def __init__(self, event, receive):
        self.event, self.receive, self.payload = event, receive, None

    async def read(self, length=None):
        if self.payload is None and self.event["type"] == "http.request":
            self.payload = self.event.get("body") or b""
            while self.event.get("more_body"):
                self.event = await self.receive()
                if self.event["type"] == "http.request":
                    if length is None or len(self.payload) < length:
                        self.payload += self.event.get("body") or b""
        if length is None:
            r, self.payload = self.payload, b""
        else:
            r, self.payload = self.payload[:length], self.payload[length:]
        return r


async def translate_request(scope, receive, send):
    """engine.io's ASGI `translate_request`, the same environ, without a class per call."""
    event = await receive()
    if event["type"] not in ("http.request", "websocket.connect"):
        return {}
    query_string = ""
    raw_uri = scope["path"]
    if scope.get("query_string"):
        try:
            query_string = scope["query_string"].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raw_uri += "?" + query_string
    environ = {
        "wsgi.input": _Payload(event, receive),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "asgi",
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": query_string,
        "RAW_URI": raw_uri,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "asgi",
        "SERVER_PORT": "0",
        "asgi.receive": receive,
        "asgi.send": send,
        "asgi.scope": scope,
    }
    for name, value in scope["headers"]:
        try:
            name, value = name.upper().decode("utf-8"), value.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = "HTTP_" + name.replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ
