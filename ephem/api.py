"""The REST API under /api (FastAPI, mounted in front of Reflex's own routes).

Thin: parse, authenticate, call the domain, shape the answer. Every error a
client can cause leaves as the contract's `{ok: false, error: {code, message}}`.
"""

import asyncio
import functools
import logging
import math
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ephem.accounts import Accounts
from ephem.clock import iso
from ephem.errors import EphemError, InvalidToken
from ephem.enclaves import Enclaves, EnclaveView
from ephem.ice import ice_servers_for
from ephem.models import Account
from ephem.ratelimit import RateLimiter
from ephem.schemas import AccountOut, EnclaveOut, ErrorOut, error
from ephem.services import get_accounts, get_enclaves, get_hub, rate_limiter
from ephem.settings import get_settings
from ephem.signaling import Hub

log = logging.getLogger("ephem.api")

MAX_BODY_BYTES = 16 * 1024


class ApiError(EphemError):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error(code, message), status_code=status, headers=headers)


# --- wire shapes -------------------------------------------------------------


class CreateAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Length and content are checked by the domain so the message is ours.
    name: str = Field(max_length=1000)
    remember: StrictBool = False  # true or false, not "yes"


class CreatedOut(BaseModel):
    account: AccountOut
    session_token: str
    recovery_token: str


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recovery_token: str = Field(max_length=200)


class RestoredOut(BaseModel):
    account: AccountOut
    session_token: str


class RecoveryOut(BaseModel):
    recovery_token: str


class HealthOut(BaseModel):
    ok: bool = True


# --- wiring ------------------------------------------------------------------


def account_out(accounts: Accounts, account: Account) -> AccountOut:
    return AccountOut.of(account, accounts.expires_at(account))


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send your session token as `Authorization: Bearer <token>`.")
    return token.strip()


def current_account(request: Request, accounts: Annotated[Accounts, Depends(get_accounts)]) -> Account:
    return accounts.authenticate(bearer_token(request))


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
EnclavesDep = Annotated[Enclaves, Depends(get_enclaves)]
HubDep = Annotated[Hub, Depends(get_hub)]
Me = Annotated[Account, Depends(current_account)]

class Limits:
    """Creating accounts and guessing recovery tokens are the two things worth
    flooding; both are limited per client address."""

    def __init__(self, signup: RateLimiter | None = None, restore: RateLimiter | None = None):
        settings = get_settings()
        self.signup = signup or rate_limiter("signup", settings.signup_rate, settings.signup_burst)
        self.restore = restore or rate_limiter("restore", 0.2, 10)


@functools.cache
def get_limits() -> Limits:
    return Limits()


def limited(kind: str):
    async def check(request: Request, limits: Annotated[Limits, Depends(get_limits)]) -> None:
        client = request.client.host if request.client else "unknown"
        limiter = getattr(limits, kind)
        if not await limiter.allow(client):
            if limiter.rate <= 0:
                raise ApiError(429, "rate_limited", "Too many attempts.")
            wait = math.ceil(1 / limiter.rate)  # when the bucket next holds a whole token, at the latest
            message = f"Too many attempts. Try again in {wait} seconds."
            raise ApiError(429, "rate_limited", message, {"Retry-After": str(wait)})

    return Depends(check)


ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 409, 413, 422, 429)}

api = FastAPI(
    title="ephem",
    version="1",
    description="Accounts, enclaves and matchmaking for ephem. Messages never pass through here.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    redoc_url=None,
    responses=ERRORS,
)


@api.exception_handler(EphemError)
async def _domain_error(_request: Request, exc: EphemError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, getattr(exc, "headers", None))


@api.exception_handler(RequestValidationError)
async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")
    return error_response(422, "invalid_payload", f"The request is not valid ({detail}).")


@api.exception_handler(StarletteHTTPException)
async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "bad_request"), str(exc.detail))


@api.exception_handler(Exception)
async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Logged here with its traceback; the client only learns that it failed.
    log.exception("unhandled error in the API", exc_info=exc)
    return error_response(503, "unavailable", "Something went wrong on our side. Please try again.")


@api.middleware("http")
async def _limit_body(request: Request, call_next):
    if request.url.path.startswith("/api/"):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return error_response(413, "payload_too_large", f"Requests are limited to {MAX_BODY_BYTES} bytes.")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            # Chunked: read only as far as the limit, never the whole body.
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return error_response(413, "payload_too_large", f"Requests are limited to {MAX_BODY_BYTES} bytes.")
                chunks.append(chunk)
            request._body = b"".join(chunks)  # what the route reads (Starlette's cached body)
    return await call_next(request)


@api.get("/api/health", response_model=HealthOut)
def health() -> HealthOut:
    return HealthOut()


@api.head("/api/health", include_in_schema=False)
def health_head() -> Response:
    return Response()  # load balancers' health checks use HEAD


@api.post("/api/accounts", status_code=201, response_model=CreatedOut, dependencies=[limited("signup")])
def create_account(body: CreateAccountIn, accounts: AccountsDep) -> CreatedOut:
    created = accounts.create(body.name, body.remember)
    return CreatedOut(
        account=account_out(accounts, created.account),
        session_token=created.session_token,
        recovery_token=created.recovery_token,
    )


@api.post("/api/accounts/restore", response_model=RestoredOut, dependencies=[limited("restore")])
def restore_account(body: RestoreIn, accounts: AccountsDep) -> RestoredOut:
    restored = accounts.restore(body.recovery_token)
    return RestoredOut(account=account_out(accounts, restored.account), session_token=restored.session_token)


@api.get("/api/me", response_model=AccountOut)
def get_me(me: Me, accounts: AccountsDep) -> AccountOut:
    return account_out(accounts, me)


@api.delete("/api/me", status_code=204, response_class=Response)
async def delete_me(me: Me, accounts: AccountsDep, hub: HubDep) -> Response:
    enclave_ids = await asyncio.to_thread(accounts.delete, me.id)
    await hub.drop_account(me.id, enclave_ids)
    return Response(status_code=204)


@api.post("/api/me/recovery-token", response_model=RecoveryOut)
def rotate_recovery_token(me: Me, accounts: AccountsDep) -> RecoveryOut:
    return RecoveryOut(recovery_token=accounts.rotate_recovery(me.id))


@api.delete("/api/session", status_code=204, response_class=Response)
async def end_session(request: Request, me: Me, accounts: AccountsDep, hub: HubDep) -> Response:
    """Sign this device out (an addition to the contract): its token stops
    working, and its live connections are told (`session_ended`)."""
    token = bearer_token(request)
    await asyncio.to_thread(accounts.end_session, token)
    await hub.end_session(accounts.session_key(token))
    return Response(status_code=204)


class InviteOut(BaseModel):
    code: str
    url: str
    expires_at: str


class StatsOut(BaseModel):
    online: int
    searching: int


class IceServersOut(BaseModel):
    ice_servers: list[dict]


async def enclave_out(view: EnclaveView, hub: Hub) -> EnclaveOut:
    return EnclaveOut.of(view, await hub.online(m.account_id for m in view.members))


def public_url(request: Request) -> str:
    """Where invite links point: the configured site, else the page that asked."""
    configured = get_settings().public_url
    if configured:
        return configured.rstrip("/")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    return str(request.base_url).rstrip("/")


@api.get("/api/stats", response_model=StatsOut)
async def stats(hub: HubDep) -> StatsOut:
    """How many accounts are online and how many are searching (an addition to the contract)."""
    return StatsOut(**await hub.stats())


@api.get("/api/enclaves", response_model=list[EnclaveOut])
async def list_enclaves(me: Me, enclaves: EnclavesDep, hub: HubDep) -> list[EnclaveOut]:
    return [await enclave_out(view, hub) for view in await asyncio.to_thread(enclaves.list_for, me.id)]


@api.get("/api/enclaves/{enclave_id}", response_model=EnclaveOut)
async def get_enclave(enclave_id: str, me: Me, enclaves: EnclavesDep, hub: HubDep) -> EnclaveOut:
    return await enclave_out(await asyncio.to_thread(enclaves.get, enclave_id, me.id), hub)


@api.post("/api/enclaves/{enclave_id}/invites", status_code=201, response_model=InviteOut)
def create_invite(enclave_id: str, request: Request, me: Me, enclaves: EnclavesDep) -> InviteOut:
    invitation = enclaves.invite(enclave_id, me.id)
    return InviteOut(
        code=invitation.code,
        url=f"{public_url(request)}/join/{invitation.code}",
        expires_at=iso(invitation.expires_at),
    )


@api.delete("/api/enclaves/{enclave_id}/invites", status_code=204, response_class=Response)
def revoke_invites(enclave_id: str, me: Me, enclaves: EnclavesDep) -> Response:
    """Every open invite link of the enclave stops working (an addition to the contract)."""
    enclaves.revoke_invites(enclave_id, me.id)
    return Response(status_code=204)


@api.post("/api/invites/{code}/join", response_model=EnclaveOut)
async def join_by_invite(code: str, me: Me, enclaves: EnclavesDep, hub: HubDep) -> EnclaveOut:
    return await enclave_out(await asyncio.to_thread(enclaves.join, code, me.id), hub)


@api.delete("/api/enclaves/{enclave_id}/membership", status_code=204, response_class=Response)
async def leave_enclave(enclave_id: str, me: Me, enclaves: EnclavesDep, hub: HubDep) -> Response:
    await asyncio.to_thread(enclaves.leave, enclave_id, me.id)
    await hub.evict(enclave_id, me.id)
    return Response(status_code=204)


@api.get("/api/ice-servers", response_model=IceServersOut)
def ice_servers(me: Me) -> IceServersOut:
    return IceServersOut(ice_servers=ice_servers_for(get_settings(), me.id))


# Last, so it only catches what no route above matched, with every method:
# otherwise Reflex's app, mounted behind this one, answers in plain text.
# (CORS preflights never get here: the CORS middleware answers them.)
@api.api_route(
    "/api/{path:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
def unknown_endpoint(path: str, request: Request) -> JSONResponse:
    allowed = sorted(
        method
        for route in api.routes
        if isinstance(route, APIRoute) and route.endpoint is not unknown_endpoint
        and route.path_regex.match(request.url.path)
        for method in route.methods
    )
    if allowed:
        message = f"/api/{path} takes {', '.join(allowed)}, not {request.method}."
        return error_response(405, "method_not_allowed", message, {"Allow": ", ".join(allowed)})
    return error_response(404, "not_found", f"There is no endpoint /api/{path}.")
