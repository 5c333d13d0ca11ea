-- wrk script: the dashboard's read-heavy mix, one route after another on each connection —
-- the caller's rules, their watchlist and the deals feed. Usage:
--   wrk -t2 -c32 -d15s --latency -s bench/read-mix.lua http://127.0.0.1:PORT -- ACCESS_TOKEN
local paths = { "/api/v1/deal-alert-rules", "/api/v1/watchlist", "/api/v1/deals" }
local token
local turn = 0

function init(args)
  token = args[1]
end

function request()
  turn = turn + 1
  local path = paths[turn % #paths + 1]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
