#!/usr/bin/env python3
"""Opens many concurrent streaming chat completions against the gateway and reads every one of
them to its end: the client side of `bench/chat --slow-streams`.

Each stream is `POST /v1/chat/completions` with `"stream": true`, on its own connection. The
streams are opened evenly over --ramp seconds (at most --connect-concurrency connecting at
once, so the listen backlog is not the thing under test), then all of them are read at once:
with an upstream that sends one chunk every 100 ms for 30 s, N streams are open together for
most of the run. A stream is good when it answers 200, carries at least --expect-chunks content
events, has no in-band error event and ends with `data: [DONE]` and the chunked terminator.
Anything else is an error, counted by kind: connect failures (by errno), non-200 answers,
streams closed before `[DONE]`, error events, short streams, streams still open at --deadline.

One process can hold as many streams as its open-files limit allows (it raises the soft limit
to the hard one); --procs N splits the streams over N processes (each its own limit and its own
CPU: one Python process reading 100,000 events per second is a core's work). The result is one
JSON object on stdout; exit status 0 when there were no errors, 1 when there were, 2 when the
run could not be made at all.

Standard library only (Python 3.8+).
"""

import argparse
import asyncio
import collections
import json
import os
import resource
import subprocess
import sys
import time


def raise_open_files_limit(needed):
    """Lifts RLIMIT_NOFILE towards `needed` as far as the hard limit allows; returns the soft
    limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Run:
    """The shared state of one process's streams."""

    def __init__(self, args):
        self.args = args
        self.errors = collections.Counter()
        self.samples = {}
        self.chunks = []
        self.ttfb = []
        self.durations = []
        self.max_gaps = []
        self.timeout_chunks = []
        self.opened = 0
        self.ok = 0
        self.open_now = 0
        self.max_open = 0
        self.missing_trailer = 0
        self.active = set()
        self.all_done = None
        self.finished = 0
        self.request = self.build_request()

    def build_request(self):
        a = self.args
        body = json.dumps({"model": a.model, "messages": [{"role": "user", "content": "hello"}],
                           "stream": True}, separators=(",", ":")).encode()
        head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                "Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n"
                % (a.host, a.port, a.key, len(body))).encode()
        return head + body

    def error(self, kind, detail=""):
        self.errors[kind] += 1
        if detail and kind not in self.samples:
            self.samples[kind] = detail[:200]

    def stream_finished(self, stream):
        self.finished += 1
        self.active.discard(stream)
        if self.finished >= self.args.count and self.all_done and not self.all_done.done():
            self.all_done.set_result(None)


class Stream(asyncio.Protocol):
    """One streaming request: sends it, decodes the chunked SSE answer, judges it."""

    def __init__(self, run, started):
        self.run = run
        self.started = started
        self.transport = None
        self.buf = bytearray()
        self.phase = "head"          # head, size, data, trailers, done, body (Content-Length)
        self.status = 0
        self.remaining = 0
        self.sse = bytearray()
        self.chunks = 0
        self.first = None
        self.done_event = False
        self.error_event = None
        self.trailers = []
        self.closed = False
        self.judged = False
        self.last = None             # when the last bytes arrived
        self.max_gap = 0.0           # longest silence between two reads once the answer began

    # -- asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport
        run = self.run
        run.opened += 1
        run.open_now += 1
        run.max_open = max(run.max_open, run.open_now)
        transport.write(run.request)

    def data_received(self, data):
        now = time.monotonic()
        if self.first is None:
            self.first = now
        elif now - self.last > self.max_gap:
            self.max_gap = now - self.last
        self.last = now
        self.buf += data
        try:
            self.parse()
        except Exception as exc:  # a malformed answer is an error of that stream, not of the run
            self.finish("bad_http", repr(exc))

    def connection_lost(self, exc):
        self.run.open_now -= 1
        self.closed = True
        if not self.judged:
            if self.phase == "head":
                self.finish("closed_before_headers", repr(exc) if exc else "EOF")
            elif self.error_event:
                self.finish("error_event", self.error_event)
            else:
                self.finish("closed_before_done",
                            "%s after %d chunks" % (repr(exc) if exc else "EOF", self.chunks))

    # -- parsing

    def parse(self):
        buf = self.buf
        while True:
            if self.phase == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).decode("latin-1").split("\r\n")
                del buf[:end + 4]
                parts = head[0].split(" ", 2)
                self.status = int(parts[1])
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip().lower()
                if "chunked" in headers.get("transfer-encoding", ""):
                    self.phase = "size"
                else:
                    self.remaining = int(headers.get("content-length", "0"))
                    self.phase = "body"
            elif self.phase == "body":
                take = min(self.remaining, len(buf))
                self.feed(bytes(buf[:take]))
                del buf[:take]
                self.remaining -= take
                if self.remaining > 0:
                    return
                self.complete()
                return
            elif self.phase == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buf[:end]).split(b";", 1)[0].strip(), 16)
                del buf[:end + 2]
                if size == 0:
                    self.phase = "trailers"
                else:
                    self.remaining = size + 2
                    self.phase = "data"
            elif self.phase == "data":
                if len(buf) < self.remaining:
                    # Feed what is here (minus a possible partial CRLF) to keep buffers small.
                    take = min(len(buf), self.remaining - 2)
                    if take > 0:
                        self.feed(bytes(buf[:take]))
                        del buf[:take]
                        self.remaining -= take
                    return
                self.feed(bytes(buf[:self.remaining - 2]))
                del buf[:self.remaining]
                self.phase = "size"
            elif self.phase == "trailers":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                line = bytes(buf[:end])
                del buf[:end + 2]
                if not line:
                    self.complete()
                    return
                self.trailers.append(line.split(b":", 1)[0].strip().lower())
            else:
                return

    def feed(self, data):
        """SSE events: count content events, spot [DONE] and error events."""
        self.sse += data
        while True:
            end = self.sse.find(b"\n\n")
            if end < 0:
                break
            event = bytes(self.sse[:end])
            del self.sse[:end + 2]
            if event.startswith(b"data: [DONE]"):
                self.done_event = True
            elif event.startswith(b'data: {"error"'):
                self.error_event = event[:200].decode("utf-8", "replace")
            elif event.startswith(b"data: "):
                self.chunks += 1

    def complete(self):
        self.phase = "done"
        if self.status != 200:
            self.finish("status_%d" % self.status, bytes(self.sse[:200]).decode("utf-8", "replace"))
        elif self.error_event:
            self.finish("error_event", self.error_event)
        elif not self.done_event:
            self.finish("no_done", "stream ended without [DONE] after %d chunks" % self.chunks)
        elif self.chunks < self.run.args.expect_chunks:
            self.finish("short_stream", "%d chunks, expected at least %d" % (self.chunks, self.run.args.expect_chunks))
        else:
            self.finish(None)

    def finish(self, error, detail=""):
        if self.judged:
            return
        self.judged = True
        run = self.run
        now = time.monotonic()
        if error is None:
            run.max_gaps.append(self.max_gap)
            run.ok += 1
            run.chunks.append(self.chunks)
            run.durations.append(now - self.started)
            if self.first is not None:
                run.ttfb.append(self.first - self.started)
            if b"x-cost-usd" not in self.trailers:
                run.missing_trailer += 1
        else:
            run.error(error, detail)
        if self.transport is not None and not self.closed:
            self.transport.close()
        run.stream_finished(self)


async def open_one(run, loop, sem):
    async with sem:
        started = time.monotonic()
        stream = Stream(run, started)
        run.active.add(stream)
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: stream, run.args.host, run.args.port), run.args.connect_timeout)
        except asyncio.TimeoutError:
            stream.finish("connect_timeout")
        except OSError as exc:
            name = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            stream.finish("connect_" + (name.replace(" ", "_").lower()), repr(exc))


async def run_streams(args):
    run = Run(args)
    loop = asyncio.get_running_loop()
    run.all_done = loop.create_future()
    sem = asyncio.Semaphore(args.connect_concurrency)
    t0 = time.monotonic()
    deadline = t0 + args.deadline
    tasks = []
    # Open the streams evenly over the ramp, in 10 ms steps.
    for i in range(args.count):
        due = t0 + (args.ramp * i / args.count if args.count else 0)
        delay = due - time.monotonic()
        if delay > 0.01:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(open_one(run, loop, sem)))
    opened_at = time.monotonic() - t0
    left = deadline - time.monotonic()
    if run.finished < args.count and left > 0:
        try:
            await asyncio.wait_for(asyncio.shield(run.all_done), left)
        except asyncio.TimeoutError:
            pass
    # Streams still open at the deadline: "slow" when bytes arrived in the last 10 s (the stream
    # moves, only late: a CPU-starved upstream), "stalled" when nothing came for longer.
    now = time.monotonic()
    for stream in list(run.active):
        run.timeout_chunks.append(stream.chunks)
        if stream.last is not None and now - stream.last < 10:
            stream.finish("timeout_still_receiving", "open at the deadline, %d chunks read" % stream.chunks)
        else:
            stream.finish("timeout_stalled", "open at the deadline, %s, %d chunks read" % (
                "nothing for %.0f s" % (now - stream.last) if stream.last else "no byte of an answer ever",
                stream.chunks))
    for task in tasks:
        task.cancel()
    await asyncio.sleep(0.1)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "requested": args.count,
        "opened": run.opened,
        "ok": run.ok,
        "errors": sum(run.errors.values()),
        "errors_by_kind": dict(run.errors),
        "error_samples": run.samples,
        "max_open": run.max_open,
        "ramp_seconds_measured": round(opened_at, 2),
        "seconds": round(time.monotonic() - t0, 2),
        "missing_cost_trailer": run.missing_trailer,
        "chunks": run.chunks,
        "ttfb": run.ttfb,
        "durations": run.durations,
        "max_gaps": run.max_gaps,
        "timeout_chunks": run.timeout_chunks,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def summarize(parts, args):
    merged = collections.Counter()
    samples = {}
    chunks, ttfb, durations, gaps, timeout_chunks = [], [], [], [], []
    out = {"requested": 0, "opened": 0, "ok": 0, "errors": 0, "max_open_sum": 0,
           "missing_cost_trailer": 0, "client_cpu_seconds": 0.0, "seconds": 0.0}
    for part in parts:
        for key in ("requested", "opened", "ok", "errors", "missing_cost_trailer"):
            out[key] += part[key]
        out["max_open_sum"] += part["max_open"]
        out["client_cpu_seconds"] += part["cpu_seconds"]
        out["seconds"] = max(out["seconds"], part["seconds"])
        merged.update(part["errors_by_kind"])
        for kind, text in part["error_samples"].items():
            samples.setdefault(kind, text)
        chunks += part["chunks"]
        ttfb += part["ttfb"]
        durations += part["durations"]
        gaps += part["max_gaps"]
        timeout_chunks += part["timeout_chunks"]
    out["client_cpu_seconds"] = round(out["client_cpu_seconds"], 2)
    out["errors_by_kind"] = dict(merged)
    out["error_samples"] = samples
    out["procs"] = len(parts)
    out["open_files_limit_per_process"] = parts[0]["open_files_limit"] if parts else None
    out["expect_chunks"] = args.expect_chunks
    out["chunks_per_stream"] = {"min": min(chunks) if chunks else None, "median": percentile(chunks, 50),
                                "max": max(chunks) if chunks else None, "total": sum(chunks)}
    out["ttfb_ms"] = {k: (round(percentile(ttfb, p) * 1000, 1) if ttfb else None)
                      for k, p in (("p50", 50), ("p99", 99), ("max", 100))}
    out["duration_s"] = {k: (round(percentile(durations, p), 2) if durations else None)
                         for k, p in (("min", 0), ("p50", 50), ("p99", 99), ("max", 100))}
    out["max_gap_between_reads_s"] = {k: (round(percentile(gaps, p), 2) if gaps else None)
                                      for k, p in (("p50", 50), ("p99", 99), ("max", 100))}
    out["chunks_read_by_streams_open_at_deadline"] = {
        "streams": len(timeout_chunks), "min": min(timeout_chunks) if timeout_chunks else None,
        "median": percentile(timeout_chunks, 50), "max": max(timeout_chunks) if timeout_chunks else None}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", default="gw_test_abc123")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--ramp", type=float, default=10.0, help="seconds over which the streams are opened")
    ap.add_argument("--expect-chunks", type=int, default=1, help="content events a good stream has at least")
    ap.add_argument("--deadline", type=float, default=120.0, help="seconds after which open streams are errors")
    ap.add_argument("--connect-concurrency", type=int, default=256)
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child or args.procs <= 1:
        limit = raise_open_files_limit(args.count + 64)
        if limit < args.count + 16:
            print(json.dumps({"error": "open-files limit %d is too low for %d streams in one process; use --procs"
                              % (limit, args.count)}))
            return 2
        part = asyncio.run(run_streams(args))
        if args.child:
            print(json.dumps(part))
            return 0
        parts = [part]
    else:
        # Split the streams over child processes; each opens its share over the same ramp.
        shares = [args.count // args.procs + (1 if i < args.count % args.procs else 0) for i in range(args.procs)]
        children = []
        for share in shares:
            argv = [sys.executable, os.path.abspath(__file__), "--child", "--host", args.host,
                    "--port", str(args.port), "--key", args.key, "--model", args.model,
                    "--count", str(share), "--ramp", str(args.ramp), "--expect-chunks", str(args.expect_chunks),
                    "--deadline", str(args.deadline), "--connect-concurrency",
                    str(max(1, args.connect_concurrency // args.procs)), "--connect-timeout", str(args.connect_timeout)]
            children.append(subprocess.Popen(argv, stdout=subprocess.PIPE))
        parts = []
        failed = False
        for child in children:
            try:
                out, _ = child.communicate(timeout=args.deadline + 60)
            except subprocess.TimeoutExpired:
                child.kill()
                out, _ = child.communicate()
            try:
                part = json.loads(out.decode() or "{}")
            except ValueError:
                part = {}
            if "requested" not in part:
                sys.stderr.write("slow_streams: a client process failed: %s\n" % (part.get("error") or child.returncode))
                failed = True
                continue
            parts.append(part)
        if failed or not parts:
            print(json.dumps({"error": "a client process failed"}))
            return 2
    result = summarize(parts, args)
    print(json.dumps(result))
    sys.stderr.write("slow_streams: %d streams requested, %d opened, %d good, %d errors %s; chunks/stream %s; "
                     "duration p50 %ss max %ss; client CPU %.1fs in %d process(es)\n"
                     % (result["requested"], result["opened"], result["ok"], result["errors"],
                        json.dumps(result["errors_by_kind"]), result["chunks_per_stream"]["median"],
                        result["duration_s"]["p50"], result["duration_s"]["max"], result["client_cpu_seconds"],
                        result["procs"]))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
