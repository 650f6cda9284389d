"""A worker's periodic upkeep of the `/ephem` hub: stats, leases, "seen"."""

import asyncio
import logging

from ephem.live.outage import outage

log = logging.getLogger("ephem.signaling")

# `stats` go to the connections in no enclave (the home page shows them), at
# most this often: each push is a send to every one of them.
LOBBY = "lobby"
STATS_EVERY = 3.0


class Upkeep:
    """Mixed into the hub: its state is the hub's own."""

    async def run_forever(self, tick: float = 1.0) -> None:
        """This worker's upkeep, once a `tick`:

        - push `stats` to its own clients when they changed;
        - renew its connections and searchers in the shared stores (and put
          back whatever a restarted Redis forgot);
        - retire connections whose worker died, telling their rooms;
        - write `last_seen_at` of the accounts due (`Seen`), in one statement.
        """
        while True:
            await asyncio.sleep(tick)
            self._write_seen()
            try:
                await self._push_stats()
                await self._renew()
                for departure in await self.presence.lapsed():
                    await self.matchmaker.cancel(departure.info.peer_id)
                    for enclave_id in departure.enclaves:
                        await self._emit_left(enclave_id, departure.info, "disconnected")
            except Exception as exc:  # noqa: BLE001 - retried at the next tick
                outage.report(log, exc, "presence tick failed")
            else:
                outage.recovered()

    def _write_seen(self) -> None:
        """In the background: a slow database must not delay the renewals. What
        comes due meanwhile waits for the next write; a failed write is retried."""
        self._unwritten += self.seen.due()
        if self._unwritten and (self._touching is None or self._touching.done()):
            batch, self._unwritten = list(dict.fromkeys(self._unwritten)), []
            self._touching = asyncio.ensure_future(asyncio.to_thread(self.accounts.touch_many, batch))
            self._touching.add_done_callback(lambda done: self._seen_written(done, batch))

    def _seen_written(self, done: asyncio.Future, batch: list[str]) -> None:
        if not done.cancelled() and done.exception() is not None:
            outage.report(log, done.exception(), "marking accounts as seen failed")
            self._unwritten[:0] = batch

    async def _push_stats(self) -> None:
        stats = await self.stats()
        now = asyncio.get_running_loop().time()
        if stats != self._last_stats and now - self._stats_at >= STATS_EVERY:
            self._last_stats, self._stats_at = stats, now
            # Each worker tells its own clients: no fan-out through Redis.
            await self.emit("stats", stats, room=LOBBY, ignore_queue=True)

    async def _renew(self) -> None:
        for peer in await self.presence.renew(list(self._by_sid.values())):
            await self.presence.connect(peer)
            for enclave_id in peer.enclaves:
                await self.presence.join(enclave_id, peer)
        gone, lost = await self.matchmaker.renew(list(self._searching))
        for peer_id in gone:  # matched (maybe by another worker), or lost
            peer = self._searching.pop(peer_id, None)
            if peer_id in lost and peer is not None and peer.sid in self._by_sid:
                await self._enqueue(peer)
