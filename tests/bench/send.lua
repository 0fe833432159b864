-- wrk script for POST /chatapp/send (used by tests/bench/send.sh).
-- Each thread prepares 1000 requests with distinct contents once, then
-- cycles through them, so wrk spends its time sending, not building
-- strings; there is no response() hook either, which would make wrk hand
-- every answer to Lua. WRK_BODY=multipart sends multipart/form-data (what
-- a browser's FormData sends); the default is urlencoded (curl -d).
-- done() prints one machine-readable line:
--   WRKRESULT rps=.. p50_ms=.. p99_ms=.. non2xx=.. errors=..

local threads = {}
local next_id = 0
local multipart = os.getenv("WRK_BODY") == "multipart"
local boundary = "----wrkbench7MA4YWxkTrZu0gW"
local POOL = 1000
local pool = {}
local at = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("tid", next_id)
    table.insert(threads, thread)
end

local function urlencoded(content)
    return "name=wrk&email=wrk%40example.com&topic=bench&content=" ..
        content:gsub(" ", "+")
end

local function part(name, value)
    return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" ..
        name .. "\"\r\n\r\n" .. value .. "\r\n"
end

local function form(content)
    return part("name", "wrk") .. part("email", "wrk@example.com") ..
        part("topic", "bench") .. part("content", content) ..
        "--" .. boundary .. "--\r\n"
end

function init(args)
    local headers = {}
    if multipart then
        headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
    else
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
    for i = 1, POOL do
        local content = "wrk " .. tostring(tid) .. " " .. i
        local body = multipart and form(content) or urlencoded(content)
        pool[i] = wrk.format("POST", nil, headers, body)
    end
end

function request()
    at = at % POOL + 1
    return pool[at]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRKRESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        e.status, e.connect + e.read + e.write + e.timeout))
end
