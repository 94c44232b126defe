-- wrk script: each thread holds one connection and one refresh-token chain; every request
-- presents the refresh token the previous response returned (a token is good once).
-- The starting tokens, one per thread, are read from the file $TOKENS_FILE.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local starting = nil
local next_index = 0

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
  return wrk.format(nil, "/auth/token/refresh/", nil, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh":"([^"]+)"')
    if t then
      token = t
    end
  end
end
