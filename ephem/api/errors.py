"""Every error a client can cause leaves the REST API as the contract's
`{ok: false, error: {code, message}}`, under a 4xx status, its message in
the language the request's `Accept-Language` prefers (English when it names
none we speak); the code never changes."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ephem.errors import EphemError
from ephem.i18n import N_, negotiate, translate
from ephem.live.outage import MESSAGE, UNREACHABLE, outage
from ephem.schemas import error, validation_detail

log = logging.getLogger("ephem.api")


class ApiError(EphemError):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.headers, self.details = status, code, headers, details or {}


def language(request: Request) -> str:
    """The request's language: the best of ours for its `Accept-Language`."""
    return negotiate(request.headers.get("accept-language"))


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict | None = None,
    request: Request | None = None,
) -> JSONResponse:
    """The error shape; with `request`, the message in its language."""
    if request is not None:
        message = translate(message, language(request))
        headers = {**(headers or {}), "Content-Language": language(request)}
    return JSONResponse(error(code, str(message), **(details or {})), status_code=status, headers=headers)


async def _domain_error(request: Request, exc: EphemError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.text, getattr(exc, "headers", None), exc.details, request)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Pydantic's own words for what is wrong stay in English; the sentence around them does not.
    detail = validation_detail(exc.errors()[0] if exc.errors() else {}, skip=("body",))
    return error_response(422, "invalid_payload", N_("The request is not valid ({detail}).", detail=detail), request=request)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "bad_request"), str(exc.detail), request=request)


async def _redis_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # Handled here, not by `_unexpected`: Starlette re-raises what reaches the
    # catch-all handler, and the server logs it again with its traceback.
    outage.failed(exc)
    return error_response(503, "unavailable", MESSAGE, {"Retry-After": "5"}, request=request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged here with its traceback; the client only learns that it failed.
    log.exception("unhandled error in the API", exc_info=exc)
    return error_response(503, "unavailable", N_("Something went wrong on our side. Please try again."), request=request)


def install(api: FastAPI) -> None:
    api.add_exception_handler(EphemError, _domain_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    for unreachable in UNREACHABLE:
        api.add_exception_handler(unreachable, _redis_unreachable)
    api.add_exception_handler(Exception, _unexpected)
