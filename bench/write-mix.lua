-- wrk script: a write mix — preference edits (digest hour) and rule edits (cooldown),
-- alternating on each connection; every request changes a stored record. Usage:
--   wrk -t2 -c32 -d15s --latency -s bench/write-mix.lua http://127.0.0.1:PORT -- ACCESS_TOKEN RULE_ID
-- All 32 connections edit the same two records: a worst case for the re-applied edits.
local token, rule
local turn = 0

function init(args)
  token, rule = args[1], args[2]
end

function request()
  turn = turn + 1
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if turn % 2 == 0 then
    return wrk.format("PATCH", "/api/v1/notification-preferences/frequency", headers,
      string.format('{"digest_hour": %d}', turn % 24))
  end
  return wrk.format("PATCH", "/api/v1/deal-alert-rules/" .. rule, headers,
    string.format('{"cooldown_minutes": %d}', 10 + turn % 50))
end
