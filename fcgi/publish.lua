--[[
  The one atomic step of PROTOCOL.md §3: give the id, store, publish; and
  with an idempotency key (§2 idem), do it at most once per key.

  KEYS[1]  id counter (string, INCR)         "messages:id"
  KEYS[2]  history stream                    "messages:history"
  KEYS[3]  optional: the idempotency key     "idem:<key>" (string: the
           message text the step published under this key)
  ARGV[1]  the message as a JSON object text WITHOUT "id", members in
           protocol order, starting with '{"name":'
  ARGV[2]  "1" to store in the stream, "0" for an ephemeral message
  ARGV[3]  MAXLEN ~ for the stream (CHAT_HISTORY_MAX)
  ARGV[4]  pub/sub channel                   "messages"
  ARGV[5]  optional: a deadline in ms on Redis' clock (TIME); "0" or
           absent means none (must be given when KEYS[3] is)
  ARGV[6]  with KEYS[3]: how long the key is kept, in seconds (600)
  ARGV[7]  with KEYS[3], optional: "1" when the sender WAITs for replicas
           after the step (SEND_MIN_REPLICAS): a replay then writes too
           (the key's own expiry, unchanged), so that the WAIT after it
           covers the first send's write, which may not have reached a
           replica yet

  Reply without KEYS[3]: the published message object text
           '{"id":N,"name":...}'.
  Reply with KEYS[3]: a two-element array [text, outcome]:
           outcome "new": the step ran; text is the published message,
             and KEYS[3] now holds it for ARGV[6] seconds;
           outcome "replay": KEYS[3] was there and holds a message with
             the same name, email, topic, content and ephemeral; text is
             that message (its id and date), and nothing else was done;
           outcome "unconfirmed": as "replay", but ARGV[7] asked for a
             write and it was refused (too few replicas: NOREPLICAS), so
             nothing can confirm that a replica has the message;
           outcome "conflict": KEYS[3] holds a different message; text
             is empty and nothing was done.
  Error:   "DEADLINE ..." when the deadline has passed; then nothing was
           done. Any other error reply also means nothing was done: the
           first write is the INCR, and Redis refuses a script's first
           write (OOM, READONLY, MISCONF, NOREPLICAS) before it changes
           anything.

  Redis runs a script alone, so ids are handed out, stored and published
  in one order: the channel and the stream both follow id order. The
  counter is bumped before anything else; a failure after it leaves a gap,
  never a reused id. The key is written in the same step as the message,
  so it exists exactly when the message was published.

  The deadline keeps a 503 honest: a send handler that gave up waiting
  (Redis stalled) has answered, so a script that only gets to run later
  must do nothing at all, not even answer a replay. Once the handler has
  answered, the step has either run or never will, and a resend with the
  same key settles which.
]]
local deadline = tonumber(ARGV[5] or '0') or 0
if deadline > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now > deadline then
        return redis.error_reply('DEADLINE the sender stopped waiting')
    end
end

local idem = KEYS[3]
if idem then
    local seen = redis.call('GET', idem)
    if seen then
        local a, b = cjson.decode(seen), cjson.decode(ARGV[1])
        if a.name == b.name and a.email == b.email and a.topic == b.topic
            and a.content == b.content and a.ephemeral == b.ephemeral then
            if ARGV[7] == '1' then
                local at = redis.call('PEXPIRETIME', idem)
                local done = at > 0 and redis.pcall('PEXPIREAT', idem, at)
                if type(done) == 'table' and done.err then
                    return {seen, 'unconfirmed'}
                end
            end
            return {seen, 'replay'}
        end
        return {'', 'conflict'}
    end
end

-- %d, because Lua's own number formatting turns big ids into 1.2e+14.
local id = string.format('%d', redis.call('INCR', KEYS[1]))
local msg = '{"id":' .. id .. ',' .. string.sub(ARGV[1], 2)
if ARGV[2] == '1' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0', 'm', msg)
end
redis.call('PUBLISH', ARGV[4], '[' .. msg .. ']')
if idem then
    redis.call('SET', idem, msg, 'EX', ARGV[6])
    return {msg, 'new'}
end
return msg
