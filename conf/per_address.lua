-- Connections per client address (mod_magnet, magnet.attract-raw-url-to,
-- before every request): the first request on a connection whose address
-- then holds more than CHAT_HTTP_CONNS_PER_ADDR of this lighttpd process's
-- connections (default 1000; 0 turns the limit off) is refused with 429
-- and the connection closed. Every connection counts: WebSockets through
-- the tunnel, keep-alive HTTP, sends being uploaded. A connection let in
-- is not counted again on its later requests: the walk over every
-- connection costs about 0.4 us per connection, so it is paid once per
-- connection, and only while the process holds more than the limit.
-- conf/runtime.sh has checked the variable at start. With
-- server.max-worker > 1 each process counts its own connections.

local r = lighty.r

-- The error handler's own pass (its answer to this very refusal), or a
-- connection already let in.
if r.req_env["REDIRECT_STATUS"] or r.req_item["req_count"] > 1 then
    return
end

local limit = tonumber(os.getenv("CHAT_HTTP_CONNS_PER_ADDR") or "") or 1000
-- No address can hold more connections than there are: skip the walk
-- over every connection while the whole process has no more than that.
if limit == 0 or lighty.server.stats["clients_open"] <= limit then
    return
end

local addr = r.req_attr["request.remote-addr"]
local held = 0
for other in lighty.server.irequests() do
    if other.req_attr["request.remote-addr"] == addr then
        held = held + 1
        if held > limit then
            r.req_item["keep_alive"] = 0
            return 429
        end
    end
end
