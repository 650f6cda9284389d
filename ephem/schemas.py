"""The contract's JSON shapes, shared by the REST API and the `/ephem` namespace."""

from pydantic import BaseModel

from ephem.i18n import N_, Text

from ephem.core.clock import iso
from ephem.enclaves import EnclaveView
from ephem.models import Account


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    ok: bool = False
    error: ErrorDetail


def validation_detail(first: dict, skip: tuple = ()) -> str:
    """Pydantic's first error as `where: what`. Its own words stay English;
    a reason our code wrote with `N_` (interests, text that is not Unicode)
    stays a text the answer says in the client's language."""
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in skip)
    cause = (first.get("ctx") or {}).get("error")
    what = cause.args[0] if isinstance(cause, Exception) and cause.args and isinstance(cause.args[0], Text) else first.get("msg", "invalid")
    return N_("{field}: {reason}", field=where, reason=what) if where else what


def error(code: str, message: str, **details) -> dict:
    """The error shape (`ErrorOut`); `details` are extra fields of `error` (a
    `challenge`). Built by hand so that a message made with `ephem.i18n.N_`
    stays one until the web layer says it in its client's language."""
    return {"ok": False, "error": {"code": code, "message": message, **details}}


class AccountOut(BaseModel):
    id: str
    name: str
    remember: bool
    created_at: str
    last_seen_at: str
    expires_at: str

    @classmethod
    def of(cls, account: Account, expires_at) -> "AccountOut":
        return cls(
            id=account.id,
            name=account.name,
            remember=account.remember,
            created_at=iso(account.created_at),
            last_seen_at=iso(account.last_seen_at),
            expires_at=iso(expires_at),
        )


class MemberOut(BaseModel):
    account_id: str
    name: str
    online: bool
    host: bool = False  # brought together by the match that made the enclave: may remove others


class EnclaveOut(BaseModel):
    id: str
    name: str
    created_at: str
    last_active_at: str
    expires_at: str
    members: list[MemberOut]

    @classmethod
    def of(cls, view: EnclaveView, online: set[str]) -> "EnclaveOut":
        return cls(
            id=view.id,
            name=view.name,
            created_at=iso(view.created_at),
            last_active_at=iso(view.last_active_at),
            expires_at=iso(view.expires_at),
            members=[
                MemberOut(account_id=m.account_id, name=m.name, online=m.account_id in online, host=view.is_host(m.account_id))
                for m in view.members
            ],
        )
