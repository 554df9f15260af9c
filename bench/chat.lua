-- wrk script for bench/chat: POST /v1/chat/completions as an OpenAI client sends it.
--
--   wrk -t2 -c64 -d10s --latency -s bench/chat.lua http://127.0.0.1:PORT/v1/chat/completions
--
-- Environment (all optional):
--   BENCH_STREAM=1         ask for a stream ("stream":true, Accept: text/event-stream)
--   BENCH_KEY=...          the bearer token (default gw_test_abc123, the migration's test key)
--   BENCH_CHECK_BODY=0     skip checking each answer's body (by default every 200 must be a whole
--                          chat.completion with usage, or a stream that ends with `data: [DONE]`,
--                          so a gateway answering 200 with garbage or a cut stream cannot look
--                          fast). Checking costs wrk about half its throughput: bench/chat times
--                          its rounds with BENCH_CHECK_BODY=0 and checks bodies in separate runs.
--   BENCH_STOP_AFTER=N     stop after N responses in all (split evenly over the threads); the
--                          last thread to finish sends wrk SIGINT so it reports at once.
--                          BENCH_WRK_THREADS must then be wrk's -t, and BENCH_DONE_FILE a path
--                          the threads may append to (they count themselves there).
--
-- Besides wrk's own report, done() prints one line bench/chat parses:
--   BENCH-SUMMARY requests=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.. bad_status=..
--     bad_body=.. cache_hits=.. errors_connect=.. errors_read=.. errors_write=.. errors_timeout=..
-- (latencies in microseconds; p99.9 is what wrk --latency does not print).

local stream = os.getenv("BENCH_STREAM") == "1"
local key = os.getenv("BENCH_KEY") or "gw_test_abc123"
local check_body = os.getenv("BENCH_CHECK_BODY") ~= "0"
-- The model asked for: an Anthropic one routes the gateway through its Claude translation.
local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0") or 0
local wrk_threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1") or 1
local done_file = os.getenv("BENCH_DONE_FILE")

local body
if stream then
  body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"hello"}],"stream":true}'
else
  body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"hello"}]}'
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
-- What the gateway itself sends upstream, so the direct path selects the same answer
-- (bench/nginx-upstream.conf picks JSON or SSE by Accept); the gateway does not need it.
wrk.headers["Accept"] = stream and "text/event-stream" or "application/json"

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

-- Per-thread state (each thread has its own Lua state).
local quota = 0
local seen = 0
bad_status = 0
bad_body = 0
cache_hits = 0

function init(args)
  if stop_after > 0 then
    local per = math.floor(stop_after / wrk_threads)
    if id == wrk_threads then per = stop_after - per * (wrk_threads - 1) end
    quota = per
  end
end

local function own_pid()
  local f = io.open("/proc/self/stat", "r")
  if not f then return nil end
  local line = f:read("*l")
  f:close()
  return line and line:match("^(%d+)")
end

-- Called once a thread has its quota: stop this thread; the last one stops wrk as a whole
-- (wrk's main thread otherwise sleeps out the full -d before it reports).
local function finish_thread()
  if done_file then
    local f = io.open(done_file, "a")
    if f then f:write("x"); f:close() end
    f = io.open(done_file, "r")
    local count = 0
    if f then count = #(f:read("*a") or ""); f:close() end
    if count >= wrk_threads then
      local pid = own_pid()
      -- Not os.execute: system() ignores SIGINT in the caller while the command runs, so the
      -- signal would be lost. popen leaves the disposition alone.
      if pid then
        local p = io.popen("kill -INT " .. pid)
        if p then p:close() end
      end
    end
  end
  wrk.thread:stop()
end

-- Defined only when needed: a Lua response() makes wrk hand every answer's headers and body to
-- Lua, which halves its throughput on this machine; the timed runs leave it out and rely on
-- wrk's own non-2xx count, the checked runs judge every body.
local function judge(status, headers, resp_body)
  seen = seen + 1
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif check_body then
    if stream then
      -- A complete stream ends with the [DONE] event (an in-band error event has none).
      if not resp_body or resp_body:sub(-14) ~= "data: [DONE]\n\n" then
        bad_body = bad_body + 1
      end
    elseif not resp_body or not (resp_body:find('"object":"chat.completion"', 1, true)
        or resp_body:find('"type":"message"', 1, true))
        or not resp_body:find('"usage"', 1, true) then
      bad_body = bad_body + 1
    end
  end
  local hit = headers["X-Cache-Hit"] or headers["x-cache-hit"]
  if hit == "hit" then cache_hits = cache_hits + 1 end
  if quota > 0 and seen == quota then finish_thread() end
end
if check_body or stop_after > 0 then response = judge end

function done(summary, latency, requests)
  local bs, bb, ch = 0, 0, 0
  for _, t in ipairs(threads) do
    bs = bs + (t:get("bad_status") or 0)
    bb = bb + (t:get("bad_body") or 0)
    ch = ch + (t:get("cache_hits") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH-SUMMARY requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d " ..
    "bad_status=%d bad_body=%d cache_hits=%d errors_connect=%d errors_read=%d errors_write=%d " ..
    "errors_timeout=%d errors_status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, bs, bb, ch,
    e.connect, e.read, e.write, e.timeout, e.status))
end
