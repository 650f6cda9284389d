"""Presence shared by several workers through Redis.

Keys, under `{prefix}:pr:`:
- `peers`: sorted set peer_id -> lease end (ms, Redis clock); the holding worker renews it
- `peer:{peer_id}`: hash {account_id, name, sid}
- `rooms:{peer_id}` / `room:{enclave_id}`: the rooms of a connection, the connections in a room
- `acct:{account_id}`: the account's connections; `accts`: hash account -> connection count

Changes that touch several keys are one Lua script each, so a connection is
never half there. A worker that dies stops renewing; any worker's `lapsed`
then removes its connections and reports them, so the rooms hear they left.
"""

from redis.asyncio import Redis

from ephem.live.presence import Departure, Peer, PeerInfo

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# Removes one connection everywhere; returns {account, name, sid, rooms...} or nil.
_DROP = """
local function drop(p, id)
  if redis.call('ZREM', p .. 'peers', id) == 0 then return nil end
  local info = redis.call('HMGET', p .. 'peer:' .. id, 'account_id', 'name', 'sid')
  local rooms = redis.call('SMEMBERS', p .. 'rooms:' .. id)
  for _, e in ipairs(rooms) do redis.call('SREM', p .. 'room:' .. e, id) end
  redis.call('DEL', p .. 'rooms:' .. id, p .. 'peer:' .. id)
  local a = info[1]
  if a and redis.call('SREM', p .. 'acct:' .. a, id) == 1 then
    if redis.call('HINCRBY', p .. 'accts', a, -1) <= 0 then redis.call('HDEL', p .. 'accts', a) end
  end
  local out = {id, a or '', info[2] or '', info[3] or ''}
  for _, e in ipairs(rooms) do table.insert(out, e) end
  return out
end
"""

# ARGV: prefix, peer_id, account_id, name, sid, lease ms
_CONNECT = _NOW + """
local p, id, a = ARGV[1], ARGV[2], ARGV[3]
redis.call('ZADD', p .. 'peers', now + tonumber(ARGV[6]), id)
redis.call('HSET', p .. 'peer:' .. id, 'account_id', a, 'name', ARGV[4], 'sid', ARGV[5])
if redis.call('SADD', p .. 'acct:' .. a, id) == 1 then redis.call('HINCRBY', p .. 'accts', a, 1) end
return 1
"""

# ARGV: prefix, peer_id
_DISCONNECT = _DROP + "return drop(ARGV[1], ARGV[2])"

# ARGV: prefix, limit. Drops connections whose lease ended; returns them.
_LAPSED = _NOW + _DROP + """
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', ARGV[1] .. 'peers', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local gone = drop(ARGV[1], id)
  if gone then table.insert(out, gone) end
end
return out
"""

# ARGV: prefix, lease ms, peer_ids... Returns the ids the store no longer has.
_RENEW = _NOW + """
local lost = {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', ARGV[1] .. 'peers', ARGV[i]) then
    redis.call('ZADD', ARGV[1] .. 'peers', 'XX', now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""

# ARGV: prefix, enclave_id, peer_id. Only a live connection can join.
# Returns who was in the room before, in the same step as joining.
_JOIN = """
local p, e, id = ARGV[1], ARGV[2], ARGV[3]
if not redis.call('ZSCORE', p .. 'peers', id) then return {} end
local before = redis.call('SMEMBERS', p .. 'room:' .. e)
redis.call('SADD', p .. 'room:' .. e, id)
redis.call('SADD', p .. 'rooms:' .. id, e)
return before
"""

# ARGV: prefix, enclave_id, peer_id
_LEAVE = """
local p, e, id = ARGV[1], ARGV[2], ARGV[3]
redis.call('SREM', p .. 'rooms:' .. id, e)
return redis.call('SREM', p .. 'room:' .. e, id)
"""


def _departure(row: list) -> Departure:
    peer_id, account_id, name, sid, *rooms = (value.decode() if isinstance(value, bytes) else value for value in row)
    return Departure(PeerInfo(peer_id, account_id, name, sid), tuple(sorted(rooms)))


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str = "ephem", lease: float = 15.0) -> None:
        self._redis = redis
        self._p = f"{prefix}:pr:"
        self._lease_ms = max(1, round(lease * 1000))
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)
        self._lapsed = redis.register_script(_LAPSED)
        self._renew = redis.register_script(_RENEW)
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)

    async def connect(self, peer: Peer) -> None:
        await self._connect(args=[self._p, peer.peer_id, peer.account_id, peer.name, peer.sid, self._lease_ms])

    async def disconnect(self, peer_id: str) -> Departure | None:
        row = await self._disconnect(args=[self._p, peer_id])
        return _departure(row) if row else None

    async def join(self, enclave_id: str, peer: Peer) -> list[PeerInfo]:
        before = await self._join(args=[self._p, enclave_id, peer.peer_id])
        return await self._infos(sorted(p for p in map(_text, before) if p != peer.peer_id))

    async def leave(self, enclave_id: str, peer_id: str) -> bool:
        return bool(await self._leave(args=[self._p, enclave_id, peer_id]))

    async def get(self, peer_id: str) -> PeerInfo | None:
        found = await self._infos([peer_id])
        return found[0] if found else None

    async def in_room(self, enclave_id: str, peer_id: str) -> bool:
        return bool(await self._redis.sismember(f"{self._p}room:{enclave_id}", peer_id))

    async def peers_in(self, enclave_id: str) -> list[PeerInfo]:
        return await self._infos(sorted(_text(m) for m in await self._redis.smembers(f"{self._p}room:{enclave_id}")))

    async def peers_of(self, account_id: str) -> list[PeerInfo]:
        return await self._infos(sorted(_text(m) for m in await self._redis.smembers(f"{self._p}acct:{account_id}")))

    async def online(self, account_ids) -> set[str]:
        ids = list(account_ids)
        if not ids:
            return set()
        present = await self._redis.hmget(f"{self._p}accts", ids)
        return {a for a, count in zip(ids, present) if count is not None and int(count) > 0}

    async def online_accounts(self) -> int:
        return int(await self._redis.hlen(f"{self._p}accts"))

    async def renew(self, peers: list[Peer]) -> list[Peer]:
        if not peers:
            return []
        lost = {_text(i) for i in await self._renew(args=[self._p, self._lease_ms, *(p.peer_id for p in peers)])}
        return [p for p in peers if p.peer_id in lost]

    async def lapsed(self) -> list[Departure]:
        return [_departure(row) for row in await self._lapsed(args=[self._p, 100])]

    async def _infos(self, peer_ids: list[str]) -> list[PeerInfo]:
        if not peer_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for peer_id in peer_ids:
                pipe.hmget(f"{self._p}peer:{peer_id}", ["account_id", "name", "sid"])
            rows = await pipe.execute()
        return [
            PeerInfo(peer_id, *(_text(v) for v in row))
            for peer_id, row in zip(peer_ids, rows)
            if row[0] is not None
        ]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
