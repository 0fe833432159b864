--[[
  The one atomic step of PROTOCOL.md §3: give the id, store, publish.

  KEYS[1]  id counter (string, INCR)         "messages:id"
  KEYS[2]  history stream                    "messages:history"
  ARGV[1]  the message as a JSON object text WITHOUT "id", members in
           protocol order, starting with '{"name":'
  ARGV[2]  "1" to store in the stream, "0" for an ephemeral message
  ARGV[3]  MAXLEN ~ for the stream (CHAT_HISTORY_MAX)
  ARGV[4]  pub/sub channel                   "messages"
  ARGV[5]  optional: a deadline in ms on Redis' clock (TIME); "0" or
           absent means none

  Reply:   the published message object text '{"id":N,"name":...}', or
           the error "DEADLINE ..." when the deadline has passed; then
           nothing was done.

  Redis runs a script alone, so ids are handed out, stored and published
  in one order: the channel and the stream both follow id order. The
  counter is bumped before anything else; a failure after it leaves a gap,
  never a reused id.

  The deadline keeps a 503 honest: a send handler that gave up waiting
  (Redis stalled) has answered "nothing was stored", so a script that
  only gets to run later must not store it after all.
]]
local deadline = tonumber(ARGV[5] or '0') or 0
if deadline > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now > deadline then
        return redis.error_reply('DEADLINE the sender stopped waiting')
    end
end
-- %d, because Lua's own number formatting turns big ids into 1.2e+14.
local id = string.format('%d', redis.call('INCR', KEYS[1]))
local msg = '{"id":' .. id .. ',' .. string.sub(ARGV[1], 2)
if ARGV[2] == '1' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0', 'm', msg)
end
redis.call('PUBLISH', ARGV[4], '[' .. msg .. ']')
return msg
