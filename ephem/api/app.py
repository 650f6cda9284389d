"""The REST API under /api (FastAPI, mounted in front of Reflex's own routes).

Thin: parse, authenticate, call the domain, shape the answer; one module of
routes per resource under `routes/`.
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ephem.api import errors
from ephem.api.errors import error_response, language
from ephem.api.routes import accounts, enclaves, meta, safety
from ephem.i18n import N_, NP_, current
from ephem.schemas import ErrorOut

MAX_BODY_BYTES = 16 * 1024
# A report may attach 50 messages of 4,000 characters (up to 4 bytes each in UTF-8).
LARGE_BODIES = {"/api/reports": 1024 * 1024}

ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 413, 422, 429)}

api = FastAPI(
    title="ephem",
    version="1",
    description="Accounts, enclaves and matchmaking for ephem. Messages never pass through here.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    redoc_url=None,
    responses=ERRORS,
)
errors.install(api)
ROUTERS = (meta.router, accounts.router, enclaves.router, safety.router)
for router in ROUTERS:
    api.include_router(router)


# What the catch-all below answers; any other method (PROPFIND, FOO) never
# reaches a route, so the middleware answers it in the catch-all's place.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _under_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


@api.middleware("http")
async def _limit_body(request: Request, call_next):
    # What this request causes elsewhere (a sign-out's `session_ended`) is said in its language too.
    current.set(language(request))
    if _under_api(request.url.path) and request.method not in METHODS:
        return unknown_endpoint(request)
    if request.url.path.startswith("/api/"):
        limit = LARGE_BODIES.get(request.url.path, MAX_BODY_BYTES)
        too_large = NP_("Requests are limited to {n} byte.", "Requests are limited to {n} bytes.", limit)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_response(413, "payload_too_large", too_large, request=request)
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            # Chunked: read only as far as the limit, never the whole body.
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return error_response(413, "payload_too_large", too_large, request=request)
                chunks.append(chunk)
            request._body = b"".join(chunks)  # what the route reads (Starlette's cached body)
    return await call_next(request)


# Last, so it only catches what no route above matched, with every method:
# otherwise Reflex's app, mounted behind this one, answers in plain text.
# (CORS preflights never get here: the CORS middleware answers them.)
# `/api` itself too: it matches no `/api/...` pattern.
@api.api_route("/api", methods=METHODS, include_in_schema=False)
@api.api_route("/api/{path:path}", methods=METHODS, include_in_schema=False)
def unknown_endpoint(request: Request) -> JSONResponse:
    path = request.url.path
    allowed = sorted(
        method
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
        for method in route.methods
    )
    if allowed:
        message = N_("{path} takes {allowed}, not {method}.", path=path, allowed=", ".join(allowed), method=request.method)
        return error_response(405, "method_not_allowed", message, {"Allow": ", ".join(allowed)}, request=request)
    return error_response(404, "not_found", N_("There is no endpoint {path}.", path=path), request=request)
