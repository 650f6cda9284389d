"""Matchmaking shared by several workers through Redis.

Keys, under `{prefix}:mm:`:
- `queue`: sorted set of waiting peer_ids, scored by arrival (from `seq`)
- `seq`: arrival counter (INCR)
- `data`: hash peer_id -> searcher JSON `{peer_id, account_id, name}`
- `lease:{peer_id}`: the search's id, while the worker holding that searcher
  renews it
- `matched:{peer_id}`: the id of the search that was matched, set for both
  sides of a match, for a while, so a worker can tell a searcher that was
  matched from one that was lost
- `epoch`: a random id, set by whichever call first finds Redis without one:
  a new value means Redis restarted empty (or was flushed)

Each call is one Lua script, so pairing is atomic across workers. A searcher
whose lease lapsed (its worker died) counts as gone; whichever call meets it
first removes it.

When Redis restarts empty, the `matched` marks vanish with the queue: a
worker whose searcher was paired by another worker just before cannot tell
it from one that is still waiting. So the worker that pairs two searchers
remembers the match (as long as the mark would live) and writes it again
into each new epoch, and a worker puts a searcher it finds neither waiting
nor matched back into the queue only after a lease, time enough for every
live worker to have renewed once and written its matches again.
"""

import json
import secrets
import time
from collections import OrderedDict

from redis.asyncio import Redis

from ephem.live.matchmaking import Match, Searcher

# How long a `matched` mark lives, and the pairing worker remembers it.
MATCHED_MS = 600_000

# Returns the current epoch, making one (ARGV[1]) when Redis has none.
_EPOCH = """
local function epoch(key, fresh)
  local current = redis.call('GET', key)
  if current then
    return current
  end
  redis.call('SET', key, fresh)
  return fresh
end
"""

# KEYS: queue, data, seq, own lease, epoch. ARGV: lease key prefix, peer_id,
# account_id, searcher JSON, lease ms, matched key prefix, search id, fresh
# epoch, matched ms, then the account ids the newcomer must never meet (it
# blocked them or they blocked it; also in its JSON, `avoid`, for those who
# come after it). Returns {epoch} or {epoch, partner JSON,
# partner's search id}.
#
# Live waiting searchers are pairwise incompatible (any two compatible ones
# would have been paired): one account's tabs, or blocked pairs. A scan skips
# the newcomer's own other tabs, the accounts it avoids and lapsed entries,
# and each lapsed entry is deleted the first time it is met.
_ENQUEUE = _EPOCH + """
local queue, data, seq, own_lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local lease_prefix, peer_id, account_id = ARGV[1], ARGV[2], ARGV[3]
local now = epoch(KEYS[5], ARGV[8])
local avoid = {[account_id] = true}
for i = 10, #ARGV do
  avoid[ARGV[i]] = true
end

if redis.call('ZSCORE', queue, peer_id) then
  if redis.call('EXISTS', own_lease) == 1 then
    return {now}
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
    local search = redis.call('GET', lease_prefix .. other)
    if not search then
      redis.call('ZREM', queue, other)
      redis.call('HDEL', data, other)
    else
      local raw = redis.call('HGET', data, other)
      local waiting = cjson.decode(raw)
      local compatible = not avoid[waiting.account_id]
      for _, avoided in ipairs(waiting.avoid or {}) do
        if avoided == account_id then
          compatible = false
        end
      end
      if compatible then
        redis.call('ZREM', queue, other)
        redis.call('HDEL', data, other)
        redis.call('DEL', lease_prefix .. other)
        redis.call('SET', ARGV[6] .. other, search, 'PX', ARGV[9])
        redis.call('SET', ARGV[6] .. peer_id, ARGV[7], 'PX', ARGV[9])
        return {now, raw, search}
      end
      -- Removals above shift ranks, so the next batch starts after the kept ones.
      kept = kept + 1
    end
  end
end

redis.call('ZADD', queue, redis.call('INCR', seq), peer_id)
redis.call('HSET', data, peer_id, ARGV[4])
redis.call('SET', own_lease, ARGV[7], 'PX', ARGV[5])
return {now}
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

# KEYS: epoch. ARGV: fresh epoch, lease key prefix, matched key prefix, lease
# ms, then peer_id and search id pairs. Returns {epoch, status...}: 1 waiting
# (its lease extended), 2 matched, 0 neither. Never revives a searcher.
_RENEW = _EPOCH + """
local out = {epoch(KEYS[1], ARGV[1])}
for i = 5, #ARGV, 2 do
  local peer, search = ARGV[i], ARGV[i + 1]
  if redis.call('GET', ARGV[2] .. peer) == search then
    redis.call('PEXPIRE', ARGV[2] .. peer, ARGV[4])
    table.insert(out, 1)
  elseif redis.call('GET', ARGV[3] .. peer) == search then
    table.insert(out, 2)
  else
    table.insert(out, 0)
  end
end
return out
"""

# KEYS: queue, data. ARGV: lease key prefix, matched key prefix, then peer_id,
# search id and ms left triples: matches made before Redis restarted, written
# again. A searcher already put back by its worker is taken out of the queue.
_REMEMBER = """
for i = 3, #ARGV, 3 do
  local peer, search = ARGV[i], ARGV[i + 1]
  redis.call('SET', ARGV[2] .. peer, search, 'PX', ARGV[i + 2])
  if redis.call('GET', ARGV[1] .. peer) == search then
    redis.call('DEL', ARGV[1] .. peer)
    redis.call('ZREM', KEYS[1], peer)
    redis.call('HDEL', KEYS[2], peer)
  end
end
return 0
"""

WAITING, MATCHED = 1, 2


class RedisMatchmaker:
    """The `Matchmaker` seam over Redis: FIFO pairing shared by every worker.

    The worker that enqueued a searcher must call `renew` for it more often
    than every `lease` seconds (e.g. every lease/3) while it keeps waiting,
    and keep calling `renew` (with or without searchers) so that the matches
    it made outlive a Redis restart.
    """

    def __init__(self, redis: Redis, prefix: str = "ephem", lease: float = 30.0) -> None:
        self._redis = redis
        self._queue = f"{prefix}:mm:queue"
        self._data = f"{prefix}:mm:data"
        self._seq = f"{prefix}:mm:seq"
        self._epoch_key = f"{prefix}:mm:epoch"
        self._lease_prefix = f"{prefix}:mm:lease:"
        self._matched_prefix = f"{prefix}:mm:matched:"
        self._lease = lease
        self._lease_ms = max(1, round(lease * 1000))
        self._enqueue = redis.register_script(_ENQUEUE)
        self._cancel = redis.register_script(_CANCEL)
        self._searching = redis.register_script(_SEARCHING)
        self._renew = redis.register_script(_RENEW)
        self._remember = redis.register_script(_REMEMBER)
        self._searches: dict[str, str] = {}  # this worker's searchers: peer_id -> search id
        self._unseen_since: dict[str, float] = {}  # searchers found neither waiting nor matched
        # Matches this worker made, by epoch: peer_id -> (search id, forgotten at).
        self._made: dict[str, OrderedDict[str, tuple[str, float]]] = {}

    async def enqueue(self, searcher: Searcher) -> Match | None:
        # One id per search: put back after a restart it keeps it, so that a
        # match written again by its pairing worker still names it.
        search = self._searches.setdefault(searcher.peer_id, secrets.token_urlsafe(9))
        self._unseen_since.pop(searcher.peer_id, None)
        epoch, *partner = await self._enqueue(
            keys=[self._queue, self._data, self._seq, self._lease_prefix + searcher.peer_id, self._epoch_key],
            args=[
                self._lease_prefix,
                searcher.peer_id,
                searcher.account_id,
                json.dumps({**searcher.public(), "avoid": sorted(searcher.avoid)}),
                self._lease_ms,
                self._matched_prefix,
                search,
                _fresh_epoch(),
                MATCHED_MS,
                *sorted(searcher.avoid),
            ],
        )
        if not partner:
            return None
        raw, partner_search = partner
        del self._searches[searcher.peer_id]
        waiting = json.loads(raw)
        first = Searcher(**{**waiting, "avoid": frozenset(waiting.get("avoid", ()))})
        made = self._made.setdefault(_text(epoch), OrderedDict())
        until = time.monotonic() + MATCHED_MS / 1000
        made[first.peer_id] = (_text(partner_search), until)
        made[searcher.peer_id] = (search, until)
        return Match(first, searcher)

    async def cancel(self, peer_id: str) -> bool:
        self._forget(peer_id)
        keys = [self._queue, self._data, self._lease_prefix + peer_id]
        return bool(await self._cancel(keys=keys, args=[peer_id]))

    async def searching(self) -> int:
        return int(await self._searching(keys=[self._queue, self._data], args=[self._lease_prefix]))

    async def renew(self, peer_ids: list[str]) -> tuple[list[str], list[str]]:
        """Extend the leases of these waiting searchers; returns (gone, lost).

        A searcher with no lease was either matched (its worker hears `matched`
        from whichever worker paired it) or lost (Redis restarted, or the lease
        lapsed): all of them are gone, and the lost ones are for their worker to
        enqueue again. One found neither waiting nor matched counts as lost
        only after a lease: until then another worker may still write the match
        that Redis forgot.
        """
        self._expire_made()
        # Not searching here (matched by this worker, or cancelled): gone.
        gone, lost = {p for p in peer_ids if p not in self._searches}, []
        ours = [p for p in peer_ids if p in self._searches]
        if not ours and not self._made:
            return [p for p in peer_ids if p in gone], lost
        args = [_fresh_epoch(), self._lease_prefix, self._matched_prefix, self._lease_ms]
        for peer_id in ours:
            args += [peer_id, self._searches[peer_id]]
        epoch, *statuses = await self._renew(keys=[self._epoch_key], args=args)
        await self._rewrite_made(_text(epoch))
        now = time.monotonic()
        for peer_id, status in zip(ours, statuses):
            if status == WAITING:
                self._unseen_since.pop(peer_id, None)
            elif status == MATCHED:
                gone.add(peer_id)
                self._forget(peer_id)
            elif now - self._unseen_since.setdefault(peer_id, now) >= self._lease:
                gone.add(peer_id)
                lost.append(peer_id)
                self._unseen_since.pop(peer_id, None)
        return [p for p in peer_ids if p in gone], lost

    async def _rewrite_made(self, epoch: str) -> None:
        """Matches remembered from an earlier epoch are written into this one."""
        earlier = [e for e in self._made if e != epoch]
        if not earlier:
            return
        now = time.monotonic()
        merged: OrderedDict[str, tuple[str, float]] = OrderedDict()
        args: list = [self._lease_prefix, self._matched_prefix]
        for e in earlier:  # older matches first: `_expire_made` drops from the front
            for peer_id, (search, until) in self._made[e].items():
                args += [peer_id, search, max(1, round((until - now) * 1000))]
                merged[peer_id] = (search, until)
        await self._remember(keys=[self._queue, self._data], args=args)
        # Only once written: if Redis fails again, the next renewal retries.
        for e in earlier:
            del self._made[e]
        merged.update(self._made.get(epoch, {}))
        self._made[epoch] = merged

    def _expire_made(self) -> None:
        now = time.monotonic()
        for epoch, made in list(self._made.items()):
            while made and next(iter(made.values()))[1] <= now:
                made.popitem(last=False)
            if not made:
                del self._made[epoch]

    def _forget(self, peer_id: str) -> None:
        self._searches.pop(peer_id, None)
        self._unseen_since.pop(peer_id, None)


def _fresh_epoch() -> str:
    return secrets.token_hex(8)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
