"""The tables. Times are aware UTC (SQLModel stores them as UTC on every database)."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=64)
    remember: bool = False
    recovery_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    last_seen_at: datetime = Field(index=True)
    # Set by an operator (`python -m ephem.admin ban`): its tokens stop working.
    banned_at: datetime | None = None
    ban_reason: str | None = Field(default=None, max_length=500)


class SessionToken(SQLModel, table=True):
    """One per signed-in device; the token itself is never stored."""

    __tablename__ = "session_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=36)
    created_at: datetime


class Enclave(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=64)
    created_at: datetime
    last_active_at: datetime = Field(index=True)


class Membership(SQLModel, table=True):
    enclave_id: str = Field(foreign_key="enclave.id", primary_key=True, max_length=36)
    account_id: str = Field(
        foreign_key="account.id", primary_key=True, index=True, max_length=36
    )
    joined_at: datetime


class Invite(SQLModel, table=True):
    """An invite link's code, stored as a keyed hash like every other bearer secret."""

    id: str = Field(primary_key=True, max_length=36)
    enclave_id: str = Field(foreign_key="enclave.id", index=True, max_length=36)
    code_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=36)
    created_at: datetime
    expires_at: datetime


class Block(SQLModel, table=True):
    """The blocker is never matched with the blocked account again; goes with either account."""

    blocker_id: str = Field(foreign_key="account.id", primary_key=True, max_length=36)
    blocked_id: str = Field(foreign_key="account.id", primary_key=True, index=True, max_length=36)
    created_at: datetime


class Report(SQLModel, table=True):
    """A member reported to the operators, with the messages the reporter chose
    to attach from their own screen (JSON). No foreign keys: a report outlives
    the accounts it names, for the operators to read."""

    id: str = Field(primary_key=True, max_length=36)
    reporter_id: str = Field(index=True, max_length=36)
    reported_id: str = Field(index=True, max_length=36)
    reported_name: str = Field(max_length=64)
    enclave_id: str | None = Field(default=None, max_length=36)
    reason: str = Field(max_length=500)
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(index=True)
    closed_at: datetime | None = None
