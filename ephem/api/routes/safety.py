"""Blocks, reports and removing a member (additions to the contract).

No operator endpoint lives here: operators use `python -m ephem.admin` on
the database directly.
"""


from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ephem.api.deps import ActionsDep, Me, SafetyDep, limited
from ephem.core.clock import iso
from ephem.safety import EVIDENCE_MAX, NAME_MAX, REASON_MAX, TEXT_MAX, TS_MAX, BlockView

router = APIRouter(prefix="/api")


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(max_length=64)


class BlockOut(BaseModel):
    account_id: str
    name: str
    created_at: str

    @classmethod
    def of(cls, view: BlockView) -> "BlockOut":
        return cls(account_id=view.account_id, name=view.name, created_at=iso(view.created_at))


class EvidenceIn(BaseModel):
    """A message as the reporter's own screen showed it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=NAME_MAX)
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    ts: str = Field(default="", max_length=TS_MAX)
    mine: StrictBool = False


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(max_length=64)
    enclave_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=REASON_MAX, json_schema_extra={"minLength": 1})
    messages: list[EvidenceIn] = Field(default=[], max_length=EVIDENCE_MAX)


class ReportOut(BaseModel):
    id: str
    created_at: str


@router.get("/blocks", response_model=list[BlockOut])
def list_blocks(me: Me, safety: SafetyDep) -> list[BlockOut]:
    """Whom I blocked, most recent first."""
    return [BlockOut.of(view) for view in safety.blocks_of(me.id)]


@router.post("/blocks", status_code=201, response_model=BlockOut, dependencies=[limited("safety")])
def block(body: BlockIn, me: Me, safety: SafetyDep) -> BlockOut:
    """Never be matched with a member of one of my enclaves again."""
    return BlockOut.of(safety.block(me.id, body.account_id))


@router.delete("/blocks/{account_id}", status_code=204, response_class=Response, dependencies=[limited("safety")])
def unblock(account_id: str, me: Me, safety: SafetyDep) -> Response:
    safety.unblock(me.id, account_id)
    return Response(status_code=204)


@router.post("/reports", status_code=201, response_model=ReportOut, dependencies=[limited("safety")])
def report(body: ReportIn, me: Me, safety: SafetyDep) -> ReportOut:
    """Report a member to the operators, with the messages I chose from my own screen."""
    messages = [m.model_dump() for m in body.messages]
    view = safety.report(me.id, body.account_id, body.reason, messages, body.enclave_id)
    return ReportOut(id=view.id, created_at=iso(view.created_at))


@router.delete(
    "/enclaves/{enclave_id}/members/{account_id}",
    status_code=204,
    response_class=Response,
    dependencies=[limited("safety")],
)
async def remove_member(enclave_id: str, account_id: str, me: Me, actions: ActionsDep) -> Response:
    """A host removes a member who joined by invite."""
    await actions.remove_member(enclave_id, me.id, account_id)
    return Response(status_code=204)


