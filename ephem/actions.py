"""What a person does that changes the database and reaches live connections.

One place for each, called alike by the REST routes and the Reflex state;
`Live` is what the `/ephem` namespace offers them, so neither web layer
needs to know the other.
"""

import asyncio
from collections.abc import Iterable
from typing import Protocol

from ephem.accounts import Accounts
from ephem.enclaves import Enclaves
from ephem.expiry import SweepResult, sweep_once


class Live(Protocol):
    """The live side, on every worker: implemented by the `/ephem` hub."""

    async def online(self, account_ids: Iterable[str]) -> set[str]: ...

    async def stats(self) -> dict: ...

    async def end_session(self, session_key: str) -> None: ...

    async def drop_account(self, account_id: str, enclave_ids: list[str]) -> None: ...

    async def evict(self, enclave_id: str, account_id: str) -> None: ...

    async def remove(self, enclave_id: str, account_id: str) -> None: ...


class Actions:
    def __init__(self, accounts: Accounts, enclaves: Enclaves, live: Live):
        self.accounts, self.enclaves, self.live = accounts, enclaves, live

    async def sign_out(self, session_token: str) -> None:
        """The session stops working, and every tab on it, on any worker, is told."""
        await asyncio.to_thread(self.accounts.end_session, session_token)
        await self.live.end_session(self.accounts.session_key(session_token))

    async def delete_account(self, account_id: str) -> None:
        """The account goes with its tokens and memberships; its connections
        are closed and the members of its enclaves hear it left for good.
        Raises `InvalidToken` when it was already gone."""
        enclave_ids = await asyncio.to_thread(self.accounts.delete, account_id)
        await self.live.drop_account(account_id, enclave_ids)

    async def leave_enclave(self, enclave_id: str, account_id: str) -> None:
        """Leave for good: the membership goes and every live connection of
        the account leaves the enclave's room."""
        await asyncio.to_thread(self.enclaves.leave, enclave_id, account_id)
        await self.live.evict(enclave_id, account_id)

    async def remove_member(self, enclave_id: str, host_id: str, member_id: str) -> None:
        """A host removes a member: the membership and that member's invite
        links go, and its live connections are told and leave the room."""
        await asyncio.to_thread(self.enclaves.remove, enclave_id, host_id, member_id)
        await self.live.remove(enclave_id, member_id)

    async def sweep(self) -> SweepResult:
        """One bounded pass of the expiry sweep: an account it deletes is
        dropped like one deleted by its owner (connections closed, its
        enclaves' members told)."""
        result = await asyncio.to_thread(sweep_once, self.accounts.engine, self.accounts.settings, self.accounts.clock)
        if result.deleted:
            await asyncio.to_thread(self.accounts.revoke, (), result.deleted)
        for account_id, enclave_ids in result.left_by_account().items():
            await self.live.drop_account(account_id, enclave_ids)
        return result

    async def online(self, account_ids: Iterable[str]) -> set[str]:
        return await self.live.online(account_ids)

    async def stats(self) -> dict:
        return await self.live.stats()
