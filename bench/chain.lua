-- wrk script: refresh-token rotation chains, for any server that rotates. Every request
-- presents a never-used token: the one a previous answer returned. Each thread keeps a
-- queue of its chains' next tokens: a request takes the oldest, a 200 answer appends the
-- token it carries (a refused one ends that chain). A thread starts with CHAIN_PER_THREAD
-- + 1 tokens (CHAIN_PER_THREAD = connections ÷ threads, 1 by default), read from
-- TOKENS_FILE from line OFFSET+1 on: wrk asks each thread for one request more than it
-- has connections before any answer (a request it never sends), which takes the spare. Environment: CHAIN_FIELD (the answer's JSON field holding the next
-- token), CHAIN_FORM=1 for an OAuth form (grant_type=refresh_token&refresh_token=…)
-- instead of simplejwt's JSON {"refresh": …}, AUTH (Authorization header, optional).
wrk.method = "POST"
local form = os.getenv("CHAIN_FORM") == "1"
if form then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
else
  wrk.headers["Content-Type"] = "application/json"
end
if os.getenv("AUTH") then wrk.headers["Authorization"] = os.getenv("AUTH") end
local field = os.getenv("CHAIN_FIELD") or "refresh"
local per_thread = tonumber(os.getenv("CHAIN_PER_THREAD") or "1")

local starting = nil
local next_index = tonumber(os.getenv("OFFSET") or "0")

function setup(thread)
  if starting == nil then
    starting = {}
    for line in io.lines(os.getenv("TOKENS_FILE")) do
      table.insert(starting, line)
    end
  end
  local mine = {}
  for _ = 1, per_thread + 1 do
    next_index = next_index + 1
    table.insert(mine, starting[next_index])
  end
  thread:set("tokens", table.concat(mine, " "))
end

local queue = {}

function init(args)
  for t in string.gmatch(tokens, "%S+") do
    table.insert(queue, t)
  end
end

function request()
  -- An empty queue (chains ended by refusals) sends a token the server refuses: counted.
  local token = table.remove(queue, 1) or "exhausted"
  if form then
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
  end
  return wrk.format(nil, nil, nil, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"' .. field .. '":"([^"]+)"')
    if t then
      table.insert(queue, t)
    end
  end
end
