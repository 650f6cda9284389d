"""Matchmaking shared by several workers through Redis.

Keys, under `{prefix}:mm:`:
- `queue`: sorted set of waiting peer_ids, scored by arrival (from `seq`)
- `seq`: arrival counter (INCR)
- `data`: hash peer_id -> searcher JSON (`Searcher.to_json`)
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

# Whether a waiting searcher `w` and `n` make a pair (both decoded JSON,
# `avoid` the accounts `n` must never meet, its own included): 0 no, 1 both
# open to anyone, 2 sharing an interest. And the writes that pair two.
_PAIRING = """
local function has(list, x)
  for _, y in ipairs(list or {}) do
    if y == x then
      return true
    end
  end
  return false
end

local function suits(w, n, avoid)
  if avoid[w.account_id] or has(w.avoid, n.account_id) then
    return 0
  end
  for _, x in ipairs(w.interests or {}) do
    if has(n.interests, x) then
      return 2
    end
  end
  if w.strict or n.strict then
    return 0
  end
  return 1
end

local function pair(queue, data, lease_prefix, matched_prefix, ms, a, a_search, b, b_search)
  redis.call('ZREM', queue, a, b)
  redis.call('HDEL', data, a, b)
  redis.call('DEL', lease_prefix .. a, lease_prefix .. b)
  redis.call('SET', matched_prefix .. a, a_search, 'PX', ms)
  redis.call('SET', matched_prefix .. b, b_search, 'PX', ms)
end
"""

# KEYS: queue, data, seq, own lease, epoch. ARGV: lease key prefix, peer_id,
# account_id, searcher JSON, lease ms, matched key prefix, search id, fresh
# epoch, matched ms, then the account ids the newcomer must never meet (it
# blocked them or they blocked it; also in its JSON, `avoid`, for those who
# come after it). Returns {epoch} or {epoch, partner JSON,
# partner's search id}.
#
# Live waiting searchers are pairwise no pair (any two that were would have
# been paired): one account's tabs, blocked pairs, or strict searchers with no
# interest in common. A scan looks for the longest-waiting searcher sharing an
# interest, else the longest-waiting open one, and deletes each lapsed entry
# the first time it meets it.
_ENQUEUE = _EPOCH + _PAIRING + """
local queue, data, seq, own_lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local lease_prefix, peer_id, account_id = ARGV[1], ARGV[2], ARGV[3]
local now = epoch(KEYS[5], ARGV[8])
local me = cjson.decode(ARGV[4])
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

local best, best_raw, best_search, fit = nil, nil, nil, 0
local kept = 0
while fit < 2 do
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
      -- Removals above shift ranks, so the next batch starts after the kept ones.
      kept = kept + 1
      local raw = redis.call('HGET', data, other)
      local how = suits(cjson.decode(raw), me, avoid)
      if how > fit then
        best, best_raw, best_search, fit = other, raw, search, how
        if fit == 2 then
          break
        end
      end
    end
  end
end

if best then
  pair(queue, data, lease_prefix, ARGV[6], ARGV[9], best, best_search, peer_id, ARGV[7])
  return {now, best_raw, best_search}
end

redis.call('ZADD', queue, redis.call('INCR', seq), peer_id)
redis.call('HSET', data, peer_id, ARGV[4])
redis.call('SET', own_lease, ARGV[7], 'PX', ARGV[5])
return {now}
"""

# KEYS: queue, data, own lease, epoch. ARGV: lease key prefix, peer_id,
# matched key prefix, fresh epoch, matched ms. The searcher stops being
# strict and is paired with the longest-waiting open searcher, if any.
# Returns {epoch} (not waiting, or no one open) or {epoch, its JSON, its
# search id, partner JSON, partner's search id, 1 if it waited longer else 0}.
_RELAX = _EPOCH + _PAIRING + """
local queue, data, peer_id = KEYS[1], KEYS[2], ARGV[2]
local now = epoch(KEYS[4], ARGV[4])
local mine = redis.call('GET', KEYS[3])
if not mine or not redis.call('ZSCORE', queue, peer_id) then
  return {now}
end
local me = cjson.decode(redis.call('HGET', data, peer_id))
me.strict = false
local raw = cjson.encode(me)
redis.call('HSET', data, peer_id, raw)
local avoid = {[me.account_id] = true}
for _, a in ipairs(me.avoid or {}) do
  avoid[a] = true
end

local older, kept = 1, 0
while true do
  local batch = redis.call('ZRANGE', queue, kept, kept + 63)
  if #batch == 0 then
    break
  end
  for _, other in ipairs(batch) do
    if other == peer_id then
      older = 0
      kept = kept + 1
    else
      local search = redis.call('GET', ARGV[1] .. other)
      if not search then
        redis.call('ZREM', queue, other)
        redis.call('HDEL', data, other)
      else
        kept = kept + 1
        local other_raw = redis.call('HGET', data, other)
        if suits(cjson.decode(other_raw), me, avoid) > 0 then
          pair(queue, data, ARGV[1], ARGV[3], ARGV[5], other, search, peer_id, mine)
          return {now, raw, mine, other_raw, search, 1 - older}
        end
      end
    end
  end
end
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
    """The `Matchmaker` seam over Redis: pairing shared by every worker.

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
        self._relax = redis.register_script(_RELAX)
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
                json.dumps(searcher.to_json()),
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
        first = Searcher.from_json(json.loads(raw))
        self._record(_text(epoch), {first.peer_id: _text(partner_search), searcher.peer_id: search})
        return Match(first, searcher)

    async def relax(self, peer_id: str) -> Match | None:
        epoch, *found = await self._relax(
            keys=[self._queue, self._data, self._lease_prefix + peer_id, self._epoch_key],
            args=[self._lease_prefix, peer_id, self._matched_prefix, _fresh_epoch(), MATCHED_MS],
        )
        if not found:
            return None
        raw, search, other_raw, other_search, mine_first = found
        self._forget(peer_id)
        me, other = Searcher.from_json(json.loads(raw)), Searcher.from_json(json.loads(other_raw))
        self._record(_text(epoch), {peer_id: _text(search), other.peer_id: _text(other_search)})
        return Match(me, other) if int(mine_first) else Match(other, me)

    def _record(self, epoch: str, searches: dict[str, str]) -> None:
        """Remember a match made here, to write it again after a Redis restart."""
        made = self._made.setdefault(epoch, OrderedDict())
        until = time.monotonic() + MATCHED_MS / 1000
        for peer_id, search in searches.items():
            made[peer_id] = (search, until)

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
