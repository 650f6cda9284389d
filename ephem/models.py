"""The tables. Times are aware UTC (SQLModel stores them as UTC on every database)."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=64)
    remember: bool = False
    recovery_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    last_seen_at: datetime = Field(index=True)


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
