"""Background jobs that live as long as a backend worker does."""

import asyncio
import logging

from ephem.actions import Actions
from ephem.core.settings import get_settings

log = logging.getLogger("ephem.sweep")


async def sweep_forever(actions: Actions) -> None:
    """Delete expired accounts and enclaves, a bounded batch per transaction.

    Every worker runs it; batches are small and deletes idempotent, so
    overlapping sweeps on several workers are harmless.
    """
    settings = get_settings()
    while True:
        try:
            while (await actions.sweep()).total:
                await asyncio.sleep(0)
        except Exception:  # noqa: BLE001 - a failed pass is retried at the next tick
            log.exception("expiry sweep failed")
        await asyncio.sleep(settings.sweep_interval.total_seconds())
