"""Accounts and sessions: sign up, restore, the caller's account, sign out."""

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ephem.accounts import Accounts
from ephem.api.deps import AccountsDep, ActionsDep, LimitsDep, Me, ProofsDep, bearer_token, client_address, limited, within
from ephem.models import Account
from ephem.pow import ProofIn
from ephem.schemas import AccountOut

router = APIRouter(prefix="/api")


class CreateAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Length and content are checked by the domain so the message is ours:
    # the minimum is declared for clients, not enforced by pydantic.
    name: str = Field(max_length=1000, json_schema_extra={"minLength": 1})
    remember: StrictBool = False  # true or false, not "yes"
    # A solved challenge: signs up past the address's rate limit.
    pow: ProofIn | None = None


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


def account_out(accounts: Accounts, account: Account) -> AccountOut:
    return AccountOut.of(account, accounts.expires_at(account))


class ChallengeOut(BaseModel):
    challenge: dict


@router.get("/challenge", response_model=ChallengeOut, dependencies=[limited("challenge")])
def get_challenge(request: Request, proofs: ProofsDep, purpose: Literal["signup"] = Query(alias="for")) -> ChallengeOut:
    return ChallengeOut(challenge=proofs.challenge(purpose, client_address(request)))


@router.post("/accounts", status_code=201, response_model=CreatedOut)
async def create_account(
    request: Request, body: CreateAccountIn, accounts: AccountsDep, limits: LimitsDep, proofs: ProofsDep
) -> CreatedOut:
    client = client_address(request)
    if body.pow is not None:  # paid for: the rate limit does not apply
        await proofs.redeem(body.pow, "signup", client)
    else:
        await within(limits.signup, client, lambda: {"challenge": proofs.challenge("signup", client)})
    created = await run_in_threadpool(accounts.create, body.name, body.remember)
    return CreatedOut(
        account=account_out(accounts, created.account),
        session_token=created.session_token,
        recovery_token=created.recovery_token,
    )


@router.post("/accounts/restore", response_model=RestoredOut, dependencies=[limited("restore")])
def restore_account(body: RestoreIn, accounts: AccountsDep) -> RestoredOut:
    restored = accounts.restore(body.recovery_token)
    return RestoredOut(account=account_out(accounts, restored.account), session_token=restored.session_token)


@router.get("/me", response_model=AccountOut)
def get_me(me: Me, accounts: AccountsDep) -> AccountOut:
    return account_out(accounts, me)


@router.delete("/me", status_code=204, response_class=Response)
async def delete_me(me: Me, actions: ActionsDep) -> Response:
    await actions.delete_account(me.id)
    return Response(status_code=204)


@router.post("/me/recovery-token", response_model=RecoveryOut)
def rotate_recovery_token(me: Me, accounts: AccountsDep) -> RecoveryOut:
    return RecoveryOut(recovery_token=accounts.rotate_recovery(me.id))


@router.delete("/session", status_code=204, response_class=Response)
async def end_session(request: Request, _me: Me, actions: ActionsDep) -> Response:
    """Sign this device out (an addition to the contract): its token stops
    working, and its live connections are told (`session_ended`)."""
    await actions.sign_out(bearer_token(request))
    return Response(status_code=204)
