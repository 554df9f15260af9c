-- Non-streaming OpenAI chat completions against the mock upstream.
--   python3 scripts/mock-upstream/mock_upstream.py --port 9000 --quiet &
--   wrk -t2 -c32 -d5s -s scripts/mock-upstream/wrk_openai.lua http://127.0.0.1:9000/v1/chat/completions
-- Set WRK_VARY=1 to make every request body unique (defeats the mock's replay fast path).
local vary = os.getenv("WRK_VARY") == "1"
local threads = {}
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
local template = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},' ..
                 '{"role":"user","content":"Say hello to the benchmark, please%s."}],"max_tokens":64}'
wrk.body = string.format(template, "")

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function request()
  if vary then
    counter = counter + 1
    return wrk.format(nil, nil, nil, string.format(template, " " .. counter))
  end
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
  end
  io.write(string.format("non-200 responses: %d\n", total))
end
