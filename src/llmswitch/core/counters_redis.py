"""Counters in Redis, shared by every gateway process: each admission and each settlement is one
Lua script, so checking and reserving are atomic across processes and machines.

Keys carry the key id in braces (`llms:{key_...}:req`), so one key's counters stay in one slot of a
Redis Cluster. Times come from Redis (`TIME`), so gateway clocks need not agree.
"""

from __future__ import annotations

import logging

import redis.asyncio as redis

from llmswitch.core.counters import Ask, CountersUnavailable, Snapshot, Verdict

log = logging.getLogger("llmswitch.limits")
CONNECT_TIMEOUT_S = 1.0  # a Redis that cannot be reached fails the request fast, as a 503
COMMAND_TIMEOUT_S = 5.0

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
local refused, retry = '', 0
local requests, req_buckets, used_tokens, tok_buckets = 0, {}, 0, {}
if rpm > 0 then
  requests, req_buckets = window(KEYS[1])
  if requests + 1 > rpm then refused, retry = 'requests', wait(req_buckets, requests + 1 - rpm) end
end
if tpm > 0 then
  used_tokens, tok_buckets = window(KEYS[2])
  local need = math.min(tokens, tpm)
  if refused == '' and used_tokens + need > tpm then
    refused, retry = 'tokens', wait(tok_buckets, used_tokens + need - tpm)
  end
end
if refused == '' and conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= conc then refused, retry = 'concurrency', 1 end
end
if refused == '' and (budget_usd >= 0 or budget_tokens >= 0) then
  local spent_usd = tonumber(redis.call('HGET', KEYS[4], 'usd') or '0')
  local spent_tokens = tonumber(redis.call('HGET', KEYS[4], 'tok') or '0')
  if (budget_usd >= 0 and spent_usd + cost > budget_usd) or
     (budget_tokens >= 0 and spent_tokens + cost_tokens > budget_tokens) then refused = 'budget' end
end
if refused == '' then
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
  if conc > 0 then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[11]), ARGV[10])
    redis.call('EXPIRE', KEYS[3], math.ceil(tonumber(ARGV[11])) + 1)
  end
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
RELEASE = """
local now = tonumber(redis.call('TIME')[1])
local delta = tonumber(ARGV[2])
if delta ~= 0 and tonumber(ARGV[1]) > now - 60 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[1], ARGV[1], delta) < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
end
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
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
        self.client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                           socket_timeout=COMMAND_TIMEOUT_S)
        self._acquire = self.client.register_script(ACQUIRE)
        self._release = self.client.register_script(RELEASE)
        self._snapshot = self.client.register_script(SNAPSHOT)

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
        keys = _keys(ask.scope, ask.budget)
        await self._release(keys=[keys[1], keys[2], keys[3]],
                            args=[verdict.second, tokens_delta if ask.tpm else 0,
                                  ask.lease if ask.max_concurrent else "", cost_delta, cost_tokens_delta])

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
        await self.client.aclose()
