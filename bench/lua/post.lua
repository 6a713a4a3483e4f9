-- wrk script: POSTs a JSON body, rotating over a list of project keys (one per line), and prints
-- the result as one machine-readable line from done().
--   wrk ... -s bench/lua/post.lua <url> -- <path> <body file> <keys file> [pause ms]
-- With a pause, each connection waits that long on average after each response before its next
-- request (wrk's delay()): a load below saturation, whose latency is not queueing behind the other
-- connections. wrk times a request from when it is sent, so the pause is not in the latency.
-- The body's "#N#" becomes a request number: 100,000 distinct requests (or one per key, if more),
-- pre-formatted in init(), so the generator does no string work per request, and a prompt's user
-- message repeats only after 100,000 requests (more than a gateway's token-count cache holds).

local requests = {}
local count = 0
local next_index = 0

local function read_file(name)
  local f = assert(io.open(name, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local DISTINCT = 100000

function init(args)
  local path, body_file, keys_file = args[1], args[2], args[3]
  local pause = tonumber(args[4] or "0") or 0
  if pause > 0 then
    -- wrk looks for a global delay() after init(): defined only when pacing, so the saturating
    -- runs keep sending the next request straight from the response. Drawn from 0 to twice the
    -- pause (whole ms, as wrk takes it), so the connections drift apart instead of sending in
    -- waves of 16 that would queue behind each other.
    math.randomseed(os.time())
    delay = function() return math.random(0, 2 * pause) end
  end
  local body = read_file(body_file)
  local keys = {}
  for key in io.lines(keys_file) do
    if key ~= "" then keys[#keys + 1] = key end
  end
  assert(#keys > 0, "no keys in " .. keys_file)
  count = math.max(DISTINCT, #keys)
  for i = 1, count do
    local numbered = body:gsub("#N#", tostring(i), 1)
    requests[i] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. keys[(i - 1) % #keys + 1],
    }, numbered)
  end
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end

-- Latency percentiles are wrk's own (what `wrk --latency` prints): wrk corrects its histogram for
-- coordinated omission before done() sees it, so a response slower than the mean interval
-- between a connection's requests adds synthetic samples below it. A stall of a fast server
-- therefore weighs more in its p99 than the same stall of a slow one.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%.1f,"maxUs":%d,' ..
    '"errConnect":%d,"errRead":%d,"errWrite":%d,"errTimeout":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
