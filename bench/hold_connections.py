#!/usr/bin/env python3
"""Holds many idle keep-alive HTTP/1.1 connections open against one server and checks that
every one of them still works afterwards.

What it proves about the gateway's process layer: that N concurrent idle clients cost no
errors (no refused connects, no resets, no idle connection dropped early), and, with bench/run
sampling the workers' RSS while they are held, what an idle connection costs in memory.

Phases, each bounded in time:
  1. open N connections (at most --concurrency connecting at once, so the listen backlog is
     never the thing under test) and send one `GET PATH` on each; every answer must be a 200
     that keeps the connection alive;
  2. keep them all open and idle for --hold seconds (with --ready-file, touch that file at the
     start of this phase so a caller can measure while they are held);
  3. send a second request on every connection and read its 200.
Any failure in any phase is an error; the result is one JSON object on stdout. Exit status:
0 when there were no errors, 1 when there were, 2 when the run could not be made at all
(for example the open-files limit is too low for N).

Standard library only, so it runs with any Python 3.8+ (no venv needed).
"""

import argparse
import asyncio
import collections
import json
import resource
import sys
import time


def raise_open_files_limit(needed):
    """Lifts RLIMIT_NOFILE to at least `needed` if it can, and returns the soft limit in force
    afterwards. Raising the hard limit needs CAP_SYS_RESOURCE, which containers often lack, so
    the fallback is the hard limit itself."""
    infinity = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == infinity or soft >= needed:
        return needed if soft == infinity else soft
    attempts = [(needed, hard if hard == infinity or hard >= needed else needed), (hard, hard)]
    for new_soft, new_hard in attempts:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, new_hard))
            break
        except (ValueError, OSError):
            continue
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return needed if soft == infinity else soft


class ResponseError(Exception):
    pass


async def read_response(reader):
    """Reads one HTTP/1.1 response; returns (status, keeps_alive). Handles Content-Length and
    chunked bodies; a response delimited by closing the connection cannot be kept alive."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ResponseError("bad status line %r" % lines[0][:80])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    keeps_alive = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "")
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # Trailers (the gateway sends some on streams) end with an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            await reader.readexactly(size + 2)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif status not in (204, 304) and not (100 <= status < 200):
        keeps_alive = False
    return status, keeps_alive


async def exchange(reader, writer, request, timeout):
    """Sends one request and reads its response; raises unless it is a keep-alive 200."""
    writer.write(request)
    await asyncio.wait_for(writer.drain(), timeout)
    status, keeps_alive = await asyncio.wait_for(read_response(reader), timeout)
    if status != 200:
        raise ResponseError("status %d" % status)
    if not keeps_alive:
        raise ResponseError("server will close the connection")


def describe(error):
    text = str(error) or error.__class__.__name__
    return "%s: %s" % (error.__class__.__name__, text[:100])


async def run(args):
    request = (
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: llm0-bench-hold\r\n\r\n"
        % (args.path, args.host, args.port)
    ).encode()
    errors = collections.Counter()
    samples = collections.OrderedDict()  # a few distinct error messages, for diagnosis
    gate = asyncio.Semaphore(args.concurrency)
    connections = []

    def record(phase, error):
        errors[phase] += 1
        key = "%s: %s" % (phase, describe(error))
        if len(samples) < 10 or key in samples:
            samples[key] = samples.get(key, 0) + 1

    async def open_one():
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(args.host, args.port), args.timeout
                )
            except Exception as error:  # noqa: BLE001 - every failure is a counted error
                record("connect", error)
                return
            try:
                await exchange(reader, writer, request, args.timeout)
                connections.append((reader, writer))
            except Exception as error:  # noqa: BLE001
                record("first_request", error)
                writer.close()

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(args.count)))
    open_seconds = time.monotonic() - started
    print(
        "hold_connections: %d of %d connections open and answered in %.1fs; holding %ss"
        % (len(connections), args.count, open_seconds, args.hold),
        file=sys.stderr,
    )

    if args.ready_file:
        with open(args.ready_file, "w") as ready:
            ready.write("%d\n" % len(connections))
    await asyncio.sleep(args.hold)

    # A connection the server dropped while idle shows as EOF on its reader by now.
    alive = []
    for reader, writer in connections:
        if reader.at_eof():
            record("closed_while_idle", ConnectionResetError("server closed an idle connection"))
            writer.close()
        else:
            alive.append((reader, writer))

    async def second(reader, writer):
        async with gate:
            try:
                await exchange(reader, writer, request, args.timeout)
            except Exception as error:  # noqa: BLE001
                record("second_request", error)

    started = time.monotonic()
    await asyncio.gather(*(second(r, w) for r, w in alive))
    second_seconds = time.monotonic() - started

    for _, writer in connections:
        writer.close()
    await asyncio.sleep(0)  # let the transports start closing before the loop ends

    return {
        "target": "http://%s:%d%s" % (args.host, args.port, args.path),
        "connections": args.count,
        "opened": len(connections),
        "held_seconds": args.hold,
        "open_seconds": round(open_seconds, 3),
        "second_round_seconds": round(second_seconds, 3),
        "errors": sum(errors.values()),
        "errors_by_phase": {
            phase: errors.get(phase, 0)
            for phase in ("connect", "first_request", "closed_while_idle", "second_request")
        },
        "error_samples": samples,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--count", type=int, default=10000, help="connections to hold")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to keep them idle")
    parser.add_argument("--concurrency", type=int, default=500, help="connects in flight at once")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per connect or request")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds for the whole run")
    parser.add_argument("--ready-file", help="written once all connections are open, before the hold")
    args = parser.parse_args()

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.host.startswith("127."):
        # This tool is a load generator: it only ever targets this machine.
        print("hold_connections: refusing non-loopback host %r" % args.host, file=sys.stderr)
        return 2

    needed = args.count + 64  # the connections, plus stdio, the event loop and some slack
    limit = raise_open_files_limit(needed)
    if limit < needed:
        print(
            "hold_connections: need %d open files for %d connections but RLIMIT_NOFILE is %d "
            "(raise it with `ulimit -n` or lower --count)" % (needed, args.count, limit),
            file=sys.stderr,
        )
        return 2

    try:
        result = asyncio.run(asyncio.wait_for(run(args), args.deadline))
    except asyncio.TimeoutError:
        print("hold_connections: did not finish within %ss" % args.deadline, file=sys.stderr)
        return 2
    result["open_files_limit"] = limit
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
