"""Enclaves, their members and invite links."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ephem.actions import Actions
from ephem.api.deps import ActionsDep, EnclavesDep, Me
from ephem.core.clock import iso
from ephem.core.settings import get_settings
from ephem.enclaves import EnclaveView
from ephem.schemas import EnclaveOut

router = APIRouter(prefix="/api")


class InviteOut(BaseModel):
    code: str
    url: str
    expires_at: str


async def enclave_out(view: EnclaveView, actions: Actions) -> EnclaveOut:
    return EnclaveOut.of(view, await actions.online(m.account_id for m in view.members))


def public_url(request: Request) -> str:
    """Where invite links point: the configured site, else the page that asked."""
    configured = get_settings().public_url
    if configured:
        return configured.rstrip("/")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    return str(request.base_url).rstrip("/")


@router.get("/enclaves", response_model=list[EnclaveOut])
async def list_enclaves(me: Me, enclaves: EnclavesDep, actions: ActionsDep) -> list[EnclaveOut]:
    return [await enclave_out(view, actions) for view in await asyncio.to_thread(enclaves.list_for, me.id)]


@router.get("/enclaves/{enclave_id}", response_model=EnclaveOut)
async def get_enclave(enclave_id: str, me: Me, enclaves: EnclavesDep, actions: ActionsDep) -> EnclaveOut:
    return await enclave_out(await asyncio.to_thread(enclaves.get, enclave_id, me.id), actions)


@router.post("/enclaves/{enclave_id}/invites", status_code=201, response_model=InviteOut)
def create_invite(enclave_id: str, request: Request, me: Me, enclaves: EnclavesDep) -> InviteOut:
    invitation = enclaves.invite(enclave_id, me.id)
    return InviteOut(
        code=invitation.code,
        url=f"{public_url(request)}/join/{invitation.code}",
        expires_at=iso(invitation.expires_at),
    )


@router.delete("/enclaves/{enclave_id}/invites", status_code=204, response_class=Response)
def revoke_invites(enclave_id: str, me: Me, enclaves: EnclavesDep) -> Response:
    """Every open invite link of the enclave stops working (an addition to the contract)."""
    enclaves.revoke_invites(enclave_id, me.id)
    return Response(status_code=204)


@router.post("/invites/{code}/join", response_model=EnclaveOut)
async def join_by_invite(code: str, me: Me, enclaves: EnclavesDep, actions: ActionsDep) -> EnclaveOut:
    return await enclave_out(await asyncio.to_thread(enclaves.join, code, me.id), actions)


@router.delete("/enclaves/{enclave_id}/membership", status_code=204, response_class=Response)
async def leave_enclave(enclave_id: str, me: Me, actions: ActionsDep) -> Response:
    await actions.leave_enclave(enclave_id, me.id)
    return Response(status_code=204)
