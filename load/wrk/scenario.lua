-- One wrk scenario against the service, chosen by SCENARIO; prints one JSON line when done.
-- Environment: SCENARIO, TOKEN, IDS_FILE (one child id per line), REGION.
local scenario = os.getenv("SCENARIO") or "healthz"
local token = os.getenv("TOKEN") or ""
local region = os.getenv("REGION") or ""
local ids = {}
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local file = os.getenv("IDS_FILE")
  if file then
    for line in io.lines(file) do
      ids[#ids + 1] = line
    end
  end
  math.randomseed(os.time() * 1000 + (tid or 0))
end

local function auth()
  return { ["Authorization"] = "Bearer " .. token }
end

function request()
  if scenario == "get_child" then
    return wrk.format("GET", "/api/v1/children/" .. ids[math.random(#ids)], auth())
  elseif scenario == "list_children" then
    return wrk.format("GET", "/api/v1/children?limit=50&region_id=" .. region, auth())
  elseif scenario == "create_contact" then
    counter = counter + 1
    local h = auth()
    h["Content-Type"] = "application/json"
    h["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), tid or 0, counter)
    local body = '{"kind":"home_visit","child_id":"' .. ids[math.random(#ids)]
      .. '","occurred_at":"2024-03-01T09:00:00+08:00","outcome":"completed"}'
    return wrk.format("POST", "/api/v1/contacts", h, body)
  elseif scenario == "alerts" then
    return wrk.format("GET", "/api/v1/compliance/alerts?limit=50", auth())
  elseif scenario == "summary" then
    return wrk.format("GET", "/api/v1/reports/summary", auth())
  end
  return wrk.format("GET", "/healthz")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
