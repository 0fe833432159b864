--[[
  Presence: how many clients every gateway holds, judged on one clock.

  KEYS[1]  hash: gateway id -> "count:stamp_ms"      "presence:gateways"
  ARGV[1]  this gateway's id
  ARGV[2]  its connection count now, or "-1" to leave (drop its entry)
  ARGV[3]  ttl in ms: an entry not refreshed within it no longer counts

  Reply:   the sum of the other gateways' fresh counts (an integer).

  Every stamp is Redis' own TIME and is judged against Redis' TIME, so
  gateways on hosts whose clocks (wall or since boot) disagree never take
  each other for stale. An entry whose stamp is further than the ttl from
  now either way (a gateway gone quiet, or a stamp from another primary's
  clock after a failover) is dropped; its gateway writes a fresh one at
  its next refresh if it is alive.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) >= 0 then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. now)
else
    redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ttl * 4)
local all = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #all, 2 do
    local count, stamp = string.match(all[i + 1], '^(%d+):(%d+)$')
    if not count or math.abs(now - tonumber(stamp)) > ttl then
        redis.call('HDEL', KEYS[1], all[i])
    elseif all[i] ~= ARGV[1] then
        others = others + tonumber(count)
    end
end
return others
