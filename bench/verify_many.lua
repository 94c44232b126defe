-- wrk script: POST /auth/token/verify/ with the access tokens of TOKENS_FILE (one per
-- line) in turn, so that the server sees many users rather than one.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if line ~= "" then table.insert(tokens, line) end
end
local i = 0

function setup(thread)
  -- Threads start at different places in the list.
  i = i + 97
  thread:set("start", i)
end

function init(args)
  i = start or 0
end

request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, nil, '{"token":"' .. tokens[i] .. '"}')
end
