"""Every error a client can cause leaves the REST API as the contract's
`{ok: false, error: {code, message}}`, under a 4xx status."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ephem.errors import EphemError
from ephem.live.outage import MESSAGE, UNREACHABLE, outage
from ephem.schemas import error

log = logging.getLogger("ephem.api")


class ApiError(EphemError):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.headers, self.details = status, code, headers, details or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, details: dict | None = None
) -> JSONResponse:
    return JSONResponse(error(code, message, **(details or {})), status_code=status, headers=headers)


async def _domain_error(_request: Request, exc: EphemError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, getattr(exc, "headers", None), exc.details)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")
    return error_response(422, "invalid_payload", f"The request is not valid ({detail}).")


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "bad_request"), str(exc.detail))


async def _redis_unreachable(_request: Request, exc: Exception) -> JSONResponse:
    # Handled here, not by `_unexpected`: Starlette re-raises what reaches the
    # catch-all handler, and the server logs it again with its traceback.
    outage.failed(exc)
    return error_response(503, "unavailable", MESSAGE, {"Retry-After": "5"})


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Logged here with its traceback; the client only learns that it failed.
    log.exception("unhandled error in the API", exc_info=exc)
    return error_response(503, "unavailable", "Something went wrong on our side. Please try again.")


def install(api: FastAPI) -> None:
    api.add_exception_handler(EphemError, _domain_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    for unreachable in UNREACHABLE:
        api.add_exception_handler(unreachable, _redis_unreachable)
    api.add_exception_handler(Exception, _unexpected)
