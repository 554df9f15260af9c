-- wrk -t2 -c32 -d5s -s scripts/mock-upstream/wrk_openai.lua http://127.0.0.1:9000/v1/chat/completions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello to the benchmark, please."}],"max_tokens":64}'

-- count non-200 answers so a broken route does not pass for a fast one
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 responses (thread-local count unavailable in done); see Non-2xx line above\n"))
end
