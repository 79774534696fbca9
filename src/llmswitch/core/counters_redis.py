"""Counters in Redis, shared by every gateway process: each admission and each settlement is one
Lua script (one round trip), so checking and reserving are atomic across processes and machines.

Keys carry the key id in braces (`llms:{key_...}:req`), so one key's counters stay in one slot of a
Redis Cluster. Times come from Redis (`TIME`), so gateway clocks need not agree.

Under load nothing is lost. Requests wait (a bounded time) for one of the pool's connections rather
than fail. Every admitted request holds a lease in the key's lease set, and its settlement applies
only while it removes that lease, so a settlement counts exactly once however often it is sent:
one that fails (Redis gone for a moment) is retried in the background until it lands, and the
client's own retries of a script whose answer was lost are harmless. A lease whose settlement never
lands (Redis down for longer than a request may last) runs out by itself; its reservation stays
spent, which overcharges the key rather than letting it overspend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from llmswitch.core.counters import Ask, CountersUnavailable, Snapshot, Verdict

log = logging.getLogger("llmswitch.limits")
CONNECT_TIMEOUT_S = 1.0  # a Redis that cannot be reached fails the request fast, as a 503
COMMAND_TIMEOUT_S = 5.0
POOL_SIZE = 100  # connections per process; one is held only for the length of one script
POOL_WAIT_S = 2.0  # a request waits this long for a free connection before it is a 503
RETRIES = 2  # a broken connection is retried at once: every script is safe to run twice
SETTLE_BACKOFF_S = (0.05, 5.0)  # first and longest wait between tries of a failed settlement
MAX_UNSETTLED = 100_000  # settlements kept for retrying while Redis is away; past it the oldest give up

WINDOW = """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec + tonumber(t[2]) / 1000000
local function window(key)
  local flat = redis.call('HGETALL', key)
  local total, buckets = 0, {}
  for i = 1, #flat, 2 do
    local s, v = tonumber(flat[i]), tonumber(flat[i + 1])
    if s <= sec - 60 then
      redis.call('HDEL', key, flat[i])
    else
      total = total + v
      buckets[#buckets + 1] = {s, v}
    end
  end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  return total, buckets
end
"""

# KEYS: requests, tokens, leases, budget. ARGV: rpm, tpm, max_concurrent, tokens, budget_usd,
# budget_tokens, cost, cost_tokens, budget_ttl, lease, lease_ttl.
ACQUIRE = WINDOW + """
local function wait(buckets, excess)
  for _, b in ipairs(buckets) do
    excess = excess - b[2]
    if excess <= 0 then return b[1] + 60 - now end
  end
  return 60
end
local function reset(buckets)
  if #buckets == 0 then return 0 end
  return buckets[#buckets][1] + 60 - now
end
local rpm, tpm, conc, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local budget_usd, budget_tokens = tonumber(ARGV[5]), tonumber(ARGV[6])
local cost, cost_tokens = tonumber(ARGV[7]), tonumber(ARGV[8])
local lease, lease_ttl = ARGV[10], tonumber(ARGV[11])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local again = redis.call('ZSCORE', KEYS[3], lease)  -- this admission sent twice: it counts once
local refused, retry = '', 0
local requests, req_buckets, used_tokens, tok_buckets = 0, {}, 0, {}
if rpm > 0 then
  requests, req_buckets = window(KEYS[1])
  if not again and requests + 1 > rpm then refused, retry = 'requests', wait(req_buckets, requests + 1 - rpm) end
end
if tpm > 0 then
  used_tokens, tok_buckets = window(KEYS[2])
  local need = math.min(tokens, tpm)
  if not again and refused == '' and used_tokens + need > tpm then
    refused, retry = 'tokens', wait(tok_buckets, used_tokens + need - tpm)
  end
end
if not again and refused == '' and conc > 0 and redis.call('ZCARD', KEYS[3]) >= conc then
  refused, retry = 'concurrency', 1
end
if not again and refused == '' and (budget_usd >= 0 or budget_tokens >= 0) then
  local spent_usd = tonumber(redis.call('HGET', KEYS[4], 'usd') or '0')
  local spent_tokens = tonumber(redis.call('HGET', KEYS[4], 'tok') or '0')
  if (budget_usd >= 0 and spent_usd + cost > budget_usd) or
     (budget_tokens >= 0 and spent_tokens + cost_tokens > budget_tokens) then refused = 'budget' end
end
if refused == '' and not again then
  if rpm > 0 then
    redis.call('HINCRBY', KEYS[1], sec, 1)
    redis.call('EXPIRE', KEYS[1], 61)
    requests = requests + 1
    req_buckets[#req_buckets + 1] = {sec, 1}
  end
  if tpm > 0 then
    redis.call('HINCRBY', KEYS[2], sec, tokens)
    redis.call('EXPIRE', KEYS[2], 61)
    used_tokens = used_tokens + tokens
    tok_buckets[#tok_buckets + 1] = {sec, tokens}
  end
  redis.call('ZADD', KEYS[3], now + lease_ttl, lease)
  redis.call('EXPIRE', KEYS[3], math.ceil(lease_ttl) + 1)
  if budget_usd >= 0 or budget_tokens >= 0 then
    redis.call('HINCRBY', KEYS[4], 'usd', cost)
    redis.call('HINCRBY', KEYS[4], 'tok', cost_tokens)
    if tonumber(ARGV[9]) > 0 then redis.call('EXPIRE', KEYS[4], ARGV[9]) end
  end
end
return {refused, tostring(retry), requests, tostring(reset(req_buckets)), used_tokens,
        tostring(reset(tok_buckets)), sec}
"""

# KEYS: tokens, leases, budget. ARGV: second, tokens_delta, lease, cost_delta, cost_tokens_delta.
# Removing the lease is what entitles a settlement to its corrections: a second copy finds it gone.
RELEASE = """
if redis.call('ZREM', KEYS[2], ARGV[3]) == 0 then return 0 end
local now = tonumber(redis.call('TIME')[1])
local delta = tonumber(ARGV[2])
if delta ~= 0 and tonumber(ARGV[1]) > now - 60 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[1], ARGV[1], delta) < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  if redis.call('HINCRBY', KEYS[3], 'usd', ARGV[4]) < 0 then redis.call('HSET', KEYS[3], 'usd', 0) end
  if redis.call('HINCRBY', KEYS[3], 'tok', ARGV[5]) < 0 then redis.call('HSET', KEYS[3], 'tok', 0) end
end
return 1
"""

# KEYS: requests, tokens, leases, budget.
SNAPSHOT = WINDOW + """
local requests = window(KEYS[1])
local tokens = window(KEYS[2])
local concurrent = redis.call('ZCOUNT', KEYS[3], now, '+inf')
local usd = tonumber(redis.call('HGET', KEYS[4], 'usd') or '0')
local tok = tonumber(redis.call('HGET', KEYS[4], 'tok') or '0')
return {requests, tokens, concurrent, usd, tok}
"""


def _keys(scope: str, budget: str | None) -> list[str]:
    base = f"llms:{{{scope}}}"
    return [f"{base}:req", f"{base}:tok", f"{base}:conc", f"{base}:budget:{budget or '-'}"]


class RedisCounters:
    def __init__(self, url: str):
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=POOL_WAIT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=COMMAND_TIMEOUT_S, retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), RETRIES))
        self.client = redis.Redis.from_pool(pool)  # the client owns the pool: closing it closes both
        self._acquire = self.client.register_script(ACQUIRE)
        self._release = self.client.register_script(RELEASE)
        self._snapshot = self.client.register_script(SNAPSHOT)
        self._unsettled: deque[tuple[list[str], list[int | str]]] = deque()
        self._retrying: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()

    async def acquire(self, ask: Ask) -> Verdict:
        try:
            refused, retry, requests, requests_reset, tokens, tokens_reset, second = await self._acquire(
                keys=_keys(ask.scope, ask.budget),
                args=[ask.rpm, ask.tpm, ask.max_concurrent, ask.tokens, ask.budget_usd if ask.budget else -1,
                      ask.budget_tokens if ask.budget else -1, ask.cost, ask.cost_tokens, ask.budget_ttl,
                      ask.lease, ask.lease_ttl])
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(str(error)) from error
        return Verdict(refused.decode() or None, float(retry), int(requests), float(requests_reset), int(tokens),
                       float(tokens_reset), int(second))

    async def release(self, ask: Ask, verdict: Verdict, tokens_delta: int, cost_delta: int,
                      cost_tokens_delta: int) -> None:
        """Settle now if Redis answers, else later; never raises. A request cancelled while it
        settles (its client left, the server stops) does not cancel the settlement."""
        keys = _keys(ask.scope, ask.budget)
        settlement = ([keys[1], keys[2], keys[3]],
                      [verdict.second, tokens_delta if ask.tpm else 0, ask.lease, cost_delta, cost_tokens_delta])
        task = asyncio.ensure_future(self._settle(*settlement))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        await asyncio.shield(task)

    async def _settle(self, keys: list[str], args: list[int | str]) -> None:
        try:
            await self._release(keys=keys, args=args)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            self._retry_later(keys, args)
        except redis.RedisError:  # refused by Redis itself: sending it again cannot help
            log.exception("Redis refused a settlement of %s", keys[1])

    def _retry_later(self, keys: list[str], args: list[int | str]) -> None:
        if len(self._unsettled) >= MAX_UNSETTLED:
            dropped, _ = self._unsettled.popleft()
            log.error("too many settlements wait for Redis; one of %s is given up (its lease runs out)",
                      dropped[1])
        self._unsettled.append((keys, args))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry())

    async def _retry(self) -> None:
        """Send the waiting settlements, oldest first, backing off while Redis stays away."""
        delay, longest = SETTLE_BACKOFF_S
        log.warning("Redis is unreachable: %d settlements wait to be retried", len(self._unsettled))
        while self._unsettled:
            await asyncio.sleep(delay)
            keys, args = self._unsettled[0]
            try:
                await self._release(keys=keys, args=args)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                delay = min(delay * 2, longest)
                continue
            except redis.RedisError:
                log.exception("Redis refused a settlement of %s", keys[1])
            self._unsettled.popleft()
            delay = SETTLE_BACKOFF_S[0]
        log.info("every waiting settlement reached Redis")

    async def snapshot(self, scope: str, budget: str | None) -> Snapshot:
        try:
            values = await self._snapshot(keys=_keys(scope, budget), args=[])
        except (redis.RedisError, OSError) as error:
            raise CountersUnavailable(str(error)) from error
        return Snapshot(*(int(v) for v in values))

    async def start(self) -> None:
        """Check the connection; a Redis that is down does not stop the gateway from starting (its
        keys without limits keep working; the others get 503s until Redis is back)."""
        try:
            await self.client.ping()
        except (redis.RedisError, OSError):
            log.warning("Redis for rate limits is unreachable; limited keys get 503 until it is back")

    async def stop(self) -> None:
        """Finish the settlements under way and try once more those still waiting, then close."""
        if self._settling:
            await asyncio.wait(set(self._settling), timeout=COMMAND_TIMEOUT_S)
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
        while self._unsettled:
            keys, args = self._unsettled.popleft()
            try:
                await self._release(keys=keys, args=args)
            except (redis.RedisError, OSError):
                log.error("Redis is unreachable at shutdown: %d settlements are lost (their leases run out)",
                          len(self._unsettled) + 1)
                self._unsettled.clear()
        await self.client.aclose()
