-- What the front end answers itself (mod_magnet, magnet.attract-raw-url-to
-- for these two paths only; returns nothing for anything else):
--
--   /chatapp/config.json  the page's config: {"websocket":"<URL>"} from
--                         CHAT_WEBSOCKET_URL, empty for the same-origin
--                         path (conf/runtime.sh has checked the value).
--   /chatapp/error.json   server.error-handler's target: every error
--                         lighttpd answers itself, header-stage ones too,
--                         as PROTOCOL §2's {"error":"..."} with the
--                         original status (REDIRECT_STATUS).

local r = lighty.r
local path = r.req_attr["uri.path"]

local SENTENCES = {
    [400] = "malformed request: the request line or a header is not valid HTTP/1.1",
    [403] = "this request is not allowed",
    [404] = "there is nothing at this address",
    [405] = "this method is not allowed here",
    [408] = "the request took too long to arrive",
    [411] = "a request with a body needs its length (Content-Length or chunked)",
    [413] = "the request body is too large (a send may be at most 64 KiB)",
    [414] = "the address is too long",
    [417] = "the expectation in the Expect header is not supported",
    [429] = "too many connections from your address; close some and try again",
    [431] = "a request header, or the header block as a whole, is too large",
    [500] = "the web server failed; nothing was stored",
    [501] = "this method or transfer coding is not supported",
    [502] = "the web server could not reach the chat service; nothing was stored",
    [503] = "the chat service is unavailable right now; nothing was stored, try again",
    [504] = "the chat service did not answer in time",
    [505] = "this HTTP version is not supported; use HTTP/1.1",
}

local function json_answer(status, body)
    r.resp_header["Content-Type"] = "application/json"
    r.resp_header["Cache-Control"] = "no-store"
    r.resp_body.set({ body })
    return status
end

if path == "/chatapp/error.json" then
    local status = tonumber(r.req_env["REDIRECT_STATUS"] or "")
    if not status then
        return json_answer(404, '{"error":"' .. SENTENCES[404] .. '"}')
    end
    if status == 429 then
        -- conf/per_address.lua: the client's own connections free it.
        r.resp_header["Retry-After"] = "1"
    end
    local sentence = SENTENCES[status]
        or ("the web server refused this request (HTTP status " .. status .. ")")
    return json_answer(status, '{"error":"' .. sentence .. '"}')
end

if path == "/chatapp/config.json" then
    local method = r.req_attr["request.method"]
    if method ~= "GET" and method ~= "HEAD" then
        r.resp_header["Allow"] = "GET, HEAD"
        return json_answer(405, '{"error":"' .. SENTENCES[405] .. '"}')
    end
    -- conf/runtime.sh let through no character that JSON would escape.
    local url = os.getenv("CHAT_WEBSOCKET_URL") or ""
    return json_answer(200, '{"websocket":"' .. url .. '"}')
end
