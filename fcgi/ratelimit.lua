--[[
  Optional per-client rate limit: a token bucket kept in Redis, so it holds
  across every send handler process.

  KEYS[1]  the client's bucket (hash)        "ratelimit:<address>"
  ARGV[1]  tokens added per minute (> 0)
  ARGV[2]  bucket size: the burst allowed after a quiet spell (>= 1)

  Reply:   {1, 0} a token was taken; {0, ms} refused, a token will be
           there in ms milliseconds.

  The clock is Redis' own (TIME), so handlers on hosts whose clocks
  disagree still share one bucket. The key expires once a full bucket
  would have refilled, so idle clients cost no memory.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per_ms = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * per_ms)
local ok, wait = 0, 0
if tokens >= 1 then
    tokens = tokens - 1
    ok = 1
else
    wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms) + 1000)
return {ok, wait}
