-- wrk script: refresh-token rotation chains, for any server that rotates. Run with as
-- many threads as connections: each thread holds one connection and one chain, and every
-- request presents the refresh token the previous answer returned (never-used tokens
-- only). Environment: TOKENS_FILE (one starting token per line, one per thread, from
-- line OFFSET+1), CHAIN_FIELD (the answer's JSON field holding the next token),
-- CHAIN_FORM=1 for an OAuth form (grant_type=refresh_token&refresh_token=…) instead of
-- simplejwt's JSON {"refresh": …}, AUTH (Authorization header, optional).
wrk.method = "POST"
local form = os.getenv("CHAIN_FORM") == "1"
if form then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
else
  wrk.headers["Content-Type"] = "application/json"
end
if os.getenv("AUTH") then wrk.headers["Authorization"] = os.getenv("AUTH") end
local field = os.getenv("CHAIN_FIELD") or "refresh"

local starting = nil
local next_index = tonumber(os.getenv("OFFSET") or "0")

function setup(thread)
  if starting == nil then
    starting = {}
    for line in io.lines(os.getenv("TOKENS_FILE")) do
      table.insert(starting, line)
    end
  end
  next_index = next_index + 1
  thread:set("token", starting[next_index])
end

function request()
  if form then
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
  end
  return wrk.format(nil, nil, nil, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"' .. field .. '":"([^"]+)"')
    if t then
      token = t
    end
  end
end
