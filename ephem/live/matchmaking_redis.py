"""Matchmaking shared by several workers through Redis.

Keys, under `{prefix}:mm:`:
- `queue`: sorted set of waiting peer_ids, scored by arrival (from `seq`)
- `seq`: arrival counter (INCR)
- `data`: hash peer_id -> searcher JSON `{peer_id, account_id, name}`
- `lease:{peer_id}`: exists while the worker holding that searcher renews it
- `matched:{peer_id}`: set for both sides of a match, for a while, so a
  worker can tell a searcher that was matched from one that was lost

Each call is one Lua script, so pairing is atomic across workers. A searcher
whose lease lapsed (its worker died) counts as gone; whichever call meets it
first removes it.
"""

import json
from dataclasses import asdict

from redis.asyncio import Redis

from ephem.live.matchmaking import Match, Searcher

# KEYS: queue, data, seq, own lease. ARGV: lease key prefix, peer_id,
# account_id, searcher JSON, lease ms, matched key prefix. Returns the
# partner's JSON or nil.
#
# Live waiting searchers always share one account (any two compatible ones
# would have been paired), so a scan skips only the newcomer's own other tabs
# and lapsed entries, and each lapsed entry is deleted the first time it is met.
_ENQUEUE = """
local queue, data, seq, own_lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local lease_prefix, peer_id, account_id = ARGV[1], ARGV[2], ARGV[3]

if redis.call('ZSCORE', queue, peer_id) then
  if redis.call('EXISTS', own_lease) == 1 then
    return nil
  end
  redis.call('ZREM', queue, peer_id)
  redis.call('HDEL', data, peer_id)
end

local kept = 0
while true do
  local batch = redis.call('ZRANGE', queue, kept, kept + 63)
  if #batch == 0 then
    break
  end
  for _, other in ipairs(batch) do
    if redis.call('EXISTS', lease_prefix .. other) == 0 then
      redis.call('ZREM', queue, other)
      redis.call('HDEL', data, other)
    else
      local raw = redis.call('HGET', data, other)
      if cjson.decode(raw).account_id ~= account_id then
        redis.call('ZREM', queue, other)
        redis.call('HDEL', data, other)
        redis.call('DEL', lease_prefix .. other)
        redis.call('SET', ARGV[6] .. other, '1', 'PX', 600000)
        redis.call('SET', ARGV[6] .. peer_id, '1', 'PX', 600000)
        return raw
      end
      -- Removals above shift ranks, so the next batch starts after the kept ones.
      kept = kept + 1
    end
  end
end

redis.call('ZADD', queue, redis.call('INCR', seq), peer_id)
redis.call('HSET', data, peer_id, ARGV[4])
redis.call('SET', own_lease, '1', 'PX', ARGV[5])
return nil
"""

# KEYS: queue, data, lease. ARGV: peer_id. A lapsed searcher was not waiting.
_CANCEL = """
local queued = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local live = redis.call('DEL', KEYS[3])
if queued == 1 and live == 1 then
  return 1
end
return 0
"""

# KEYS: queue, data. ARGV: lease key prefix. Counts live searchers, drops lapsed ones.
_SEARCHING = """
local count = 0
for _, peer in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. peer) == 1 then
    count = count + 1
  else
    redis.call('ZREM', KEYS[1], peer)
    redis.call('HDEL', KEYS[2], peer)
  end
end
return count
"""


class RedisMatchmaker:
    """The `Matchmaker` seam over Redis: FIFO pairing shared by every worker.

    The worker that enqueued a searcher must call `renew` for it more often
    than every `lease` seconds (e.g. every lease/3) while it keeps waiting.
    """

    def __init__(self, redis: Redis, prefix: str = "ephem", lease: float = 30.0) -> None:
        self._redis = redis
        self._queue = f"{prefix}:mm:queue"
        self._data = f"{prefix}:mm:data"
        self._seq = f"{prefix}:mm:seq"
        self._lease_prefix = f"{prefix}:mm:lease:"
        self._matched_prefix = f"{prefix}:mm:matched:"
        self._lease_ms = max(1, round(lease * 1000))
        self._enqueue = redis.register_script(_ENQUEUE)
        self._cancel = redis.register_script(_CANCEL)
        self._searching = redis.register_script(_SEARCHING)

    async def enqueue(self, searcher: Searcher) -> Match | None:
        partner = await self._enqueue(
            keys=[self._queue, self._data, self._seq, self._lease_prefix + searcher.peer_id],
            args=[
                self._lease_prefix,
                searcher.peer_id,
                searcher.account_id,
                json.dumps(asdict(searcher)),
                self._lease_ms,
                self._matched_prefix,
            ],
        )
        if partner is None:
            return None
        return Match(Searcher(**json.loads(partner)), searcher)

    async def cancel(self, peer_id: str) -> bool:
        keys = [self._queue, self._data, self._lease_prefix + peer_id]
        return bool(await self._cancel(keys=keys, args=[peer_id]))

    async def searching(self) -> int:
        return int(await self._searching(keys=[self._queue, self._data], args=[self._lease_prefix]))

    async def renew(self, peer_ids: list[str]) -> tuple[list[str], list[str]]:
        """Extend the leases of these waiting searchers; returns (gone, lost).

        A searcher with no lease was either matched (its worker hears `matched`
        from whichever worker paired it) or lost (Redis restarted, or the lease
        lapsed): all of them are gone, and the lost ones are for their worker to
        enqueue again. PEXPIRE on a missing key is a no-op, so this never
        revives a searcher.
        """
        if not peer_ids:
            return [], []
        async with self._redis.pipeline(transaction=False) as pipe:
            for peer_id in peer_ids:
                pipe.pexpire(self._lease_prefix + peer_id, self._lease_ms)
                pipe.exists(self._matched_prefix + peer_id)
            results = await pipe.execute()
        gone = [(p, bool(m)) for p, alive, m in zip(peer_ids, results[::2], results[1::2]) if not alive]
        return [p for p, _ in gone], [p for p, matched in gone if not matched]
