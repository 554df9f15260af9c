#!/usr/bin/env python3
"""Mock upstream for LLM0 Gateway: speaks the OpenAI Chat Completions,
Anthropic Messages and Gemini generateContent wire formats, with fault
injection.  Python 3.11 standard library only.

    python3 scripts/mock-upstream/mock_upstream.py --port 9000 [--host 127.0.0.1]
        [--require-key KEY] [--lenient] [--quiet]

See README.md beside this file for routes and the fault-injection controls.
"""

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from urllib.parse import parse_qsl, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import anthropic_api  # noqa: E402
import faults  # noqa: E402
import gemini_api  # noqa: E402
import openai_api  # noqa: E402
from common import Response, Stream, split_model  # noqa: E402

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large",
    422: "Unprocessable Entity", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    499: "Client Closed Request", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}
STATUS_LINES = {}


def status_line(code):
    line = STATUS_LINES.get(code)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (code, REASONS.get(code, "Status").encode())
        STATUS_LINES[code] = line
    return line


_date_cache = [0, b""]


def date_header():
    t = int(time.time())
    if t != _date_cache[0]:
        _date_cache[0] = t
        _date_cache[1] = b"date: " + time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t)).encode() + b"\r\n"
    return _date_cache[1]


PROVIDER_MODULES = {"openai": openai_api, "anthropic": anthropic_api, "gemini": gemini_api}
SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization")


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers", "raw_headers", "body")

    def __init__(self):
        self.query = {}


class Disconnected(Exception):
    pass


# --------------------------------------------------------------------------
# state: stats, request log, faults


class State:
    def __init__(self, require_key, strict):
        self.require_key = require_key
        self.strict = strict
        self.faults = faults.FaultStore()
        self.log = collections.deque(maxlen=100)
        # keep-alive connections waiting for their next request (closed by /__mock/close-idle)
        self.idle = set()
        self.seq = 0
        self.replay = {}
        self.reset_stats()

    def reset_stats(self):
        self.started = time.time()
        self.conn_opened = 0
        self.conn_active = getattr(self, "conn_active", 0)
        self.per = {p: self._blank() for p in ("openai", "anthropic", "gemini", "other")}

    @staticmethod
    def _blank():
        return {"requests": 0, "status": collections.Counter(), "faults_injected": 0,
                "streams_started": 0, "streams_completed": 0, "streams_cancelled_by_client": 0,
                "streams_cut_by_fault": 0, "streams_errored_by_fault": 0, "streams_active": 0,
                "disconnected_before_response": 0}

    def record(self, provider, req):
        self.seq += 1
        self.log.append((self.seq, time.time(), provider, req.method, req.target,
                         req.raw_headers, req.body))

    def stats_json(self):
        per = {}
        totals = collections.Counter()
        for p, d in self.per.items():
            out = dict(d)
            out["status"] = {str(k): v for k, v in sorted(d["status"].items())}
            per[p] = out
            for k, v in d.items():
                if k != "status":
                    totals[k] += v
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": {p: d["requests"] for p, d in self.per.items()},
            "streams_cancelled_by_client": totals["streams_cancelled_by_client"],
            "streams_active": totals["streams_active"],
            "totals": dict(totals),
            "providers": per,
            "connections": {"opened": self.conn_opened, "active": self.conn_active},
            "faults_pending": len(self.faults.list()),
        }

    def requests_json(self, provider=None, limit=None):
        out = []
        for seq, t, prov, method, target, raw_headers, body in self.log:
            if provider and prov != provider:
                continue
            headers = {}
            for name, value in raw_headers:
                if name in SECRET_HEADERS:
                    value = redact(value)
                headers[name] = headers[name] + ", " + value if name in headers else value
            path, _, qs = target.partition("?")
            query = {}
            if qs:
                for k, v in parse_qsl(qs, keep_blank_values=True):
                    query[k] = redact(v) if k == "key" else v
            if not body:
                body = None
            else:
                try:
                    body = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    try:
                        body = body.decode("utf-8")
                    except UnicodeDecodeError:
                        body = "<%d bytes of binary data>" % len(body)
            out.append({"seq": seq, "time": round(t, 6), "provider": prov, "method": method,
                        "path": unquote(path), "query": query, "headers": headers, "body": body})
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return {"count": len(out), "requests": out}


def redact(value):
    """Keep the scheme of an Authorization value and the first 4 characters of
    the secret: 'Bearer sk-test-123' -> 'Bearer sk-t***'."""
    if value[:7].lower() == "bearer ":
        return value[:7] + value[7:11] + "***"
    return value[:4] + "***"


# --------------------------------------------------------------------------
# HTTP server


class Server:
    def __init__(self, state, quiet=False):
        self.state = state
        self.quiet = quiet

    # ---- connection loop -------------------------------------------------

    async def handle_conn(self, reader, writer):
        st = self.state
        st.conn_opened += 1
        st.conn_active += 1
        try:
            while True:
                st.idle.add(writer)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(status_line(431) + b"content-length: 0\r\nconnection: close\r\n\r\n")
                    return
                st.idle.discard(writer)
                req = self.parse_head(head)
                if req is None:
                    writer.write(status_line(400) + b"content-length: 0\r\nconnection: close\r\n\r\n")
                    return
                h = req.headers
                conn = h.get("connection", "").lower()
                keep_alive = ("close" not in conn) if req.version == "HTTP/1.1" else ("keep-alive" in conn)
                if h.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    te = h.get("transfer-encoding")
                    if te is not None and "chunked" in te.lower():
                        req.body = await self.read_chunked(reader)
                    else:
                        cl = h.get("content-length")
                        n = int(cl) if cl else 0
                        if n < 0:
                            raise ValueError
                        req.body = await reader.readexactly(n) if n else b""
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(status_line(400) + b"content-length: 0\r\nconnection: close\r\n\r\n")
                    return
                try:
                    keep = await self.dispatch(req, reader, writer, keep_alive)
                except Disconnected:
                    return
                except (ConnectionError, OSError):
                    return
                except Exception:
                    traceback.print_exc()
                    body = b'{"error":"mock upstream internal error, see its stderr"}'
                    writer.write(status_line(500) + b"content-type: application/json\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
                    return
                if not keep:
                    return
        finally:
            st.idle.discard(writer)
            st.conn_active -= 1
            try:
                writer.close()
            except Exception:
                pass

    @staticmethod
    def parse_head(head):
        try:
            text = head.decode("latin-1")
            lines = text.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None
        if not version.startswith("HTTP/1."):
            return None
        req = Request()
        req.method = method
        req.target = target
        req.version = version
        path, sep, qs = target.partition("?")
        req.path = path
        if sep:
            req.query = dict(parse_qsl(qs, keep_blank_values=True))
        headers = {}
        raw = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                return None
            name = name.strip().lower()
            value = value.strip()
            raw.append((name, value))
            if name in headers:
                headers[name] = headers[name] + ", " + value
            else:
                headers[name] = value
        req.headers = headers
        req.raw_headers = raw
        return req

    @staticmethod
    async def read_chunked(reader):
        parts = []
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:           # trailers
                    t = await reader.readuntil(b"\r\n")
                    if t == b"\r\n":
                        return b"".join(parts)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("bad chunk terminator")

    # ---- writing -----------------------------------------------------------

    @staticmethod
    def write_response(writer, resp, keep_alive):
        body = resp.body
        writer.write(b"".join((
            status_line(resp.status), date_header(), resp.headers,
            b"content-length: %d\r\n" % len(body),
            b"\r\n" if keep_alive else b"connection: close\r\n\r\n",
            body)))

    async def write_stream(self, reader, writer, stream, fault, keep_alive, provider):
        stats = self.state.per[provider]
        stats["streams_started"] += 1
        stats["streams_active"] += 1
        outcome = "completed"
        try:
            # the head goes out with the first event (if any) in one write
            head = b"".join((
                status_line(stream.status), date_header(), stream.headers,
                b"transfer-encoding: chunked\r\n",
                b"\r\n" if keep_alive else b"connection: close\r\n\r\n"))
            delay = fault.get("chunk_delay_ms", 0) / 1000.0
            cut = fault.get("cut_after_chunks")
            err_after = fault.get("stream_error_after")
            transport = writer.transport
            events = stream.events
            for i in range(len(events) + 1):
                if i > 0 and delay > 0 and i < len(events):
                    if not await self.sleep_watch(reader, delay):
                        outcome = "cancelled"
                        raise Disconnected
                if reader.at_eof() or transport.is_closing():
                    outcome = "cancelled"
                    raise Disconnected
                if err_after is not None and i == err_after:
                    ev = stream.error_event
                    outcome = "errored"
                elif cut is not None and i == cut:
                    if head:
                        writer.write(head)
                    await writer.drain()
                    outcome = "cut"
                    writer.close()
                    raise Disconnected
                elif i == len(events):
                    break
                else:
                    ev = events[i]
                frame = b"%x\r\n%s\r\n" % (len(ev), ev)
                if head:
                    frame = head + frame
                    head = None
                writer.write(frame)
                if outcome == "errored":
                    break
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    outcome = "cancelled"
                    raise Disconnected
            if head:
                writer.write(head)
            if stream.trailer:
                writer.write(b"%x\r\n%s\r\n" % (len(stream.trailer), stream.trailer))
            writer.write(b"0\r\n\r\n")
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                outcome = "cancelled"
                raise Disconnected
        finally:
            stats["streams_active"] -= 1
            key = {"completed": "streams_completed", "cancelled": "streams_cancelled_by_client",
                   "cut": "streams_cut_by_fault", "errored": "streams_errored_by_fault"}[outcome]
            stats[key] += 1
            if outcome == "cancelled" and not self.quiet:
                log("stream cancelled by client (%s)" % provider)

    @staticmethod
    async def sleep_watch(reader, seconds):
        """Sleep, but return False as soon as the client has gone away."""
        end = time.monotonic() + seconds
        while True:
            if reader.at_eof():
                return False
            left = end - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 0.02))

    # ---- routing -----------------------------------------------------------

    async def dispatch(self, req, reader, writer, keep_alive):
        path = req.path
        if path.startswith("/__mock/"):
            resp = self.control(req)
            self.write_response(writer, resp, keep_alive)
            return keep_alive
        provider, handler, model_raw, extra = self.route(req)
        st = self.state
        stats = st.per[provider if provider else "other"]
        stats["requests"] += 1
        st.record(provider or "other", req)
        mod = PROVIDER_MODULES.get(provider)

        if handler is None:
            resp = (mod or openai_api).not_found(req)
            stats["status"][resp.status] += 1
            self.write_response(writer, resp, keep_alive)
            return keep_alive

        # auth, provider prechecks
        resp = mod.auth_error(req, st.require_key)
        if resp is None and mod is anthropic_api:
            resp = mod.precheck(req)
        if resp is not None:
            stats["status"][resp.status] += 1
            self.write_response(writer, resp, keep_alive)
            return keep_alive

        # fast path: an identical request body answered before, no fault in play
        mock_headers = False
        for name in req.headers:
            if name.startswith("x-mock-"):
                mock_headers = True
                break
        replay_key = None
        if req.method == "POST" and not mock_headers and not st.faults.pending():
            replay_key = (req.path, req.body)
            tpl = st.replay.get(replay_key)
            if tpl is not None:
                resp = tpl.replay()
                stats["status"][200] += 1
                self.write_response(writer, resp, keep_alive)
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
                return keep_alive

        body_obj = None
        if req.method == "POST":
            try:
                body_obj = json.loads(req.body) if req.body else None
            except (ValueError, UnicodeDecodeError):
                body_obj = None
            if not isinstance(body_obj, dict):
                resp = mod.bad_json()
                stats["status"][resp.status] += 1
                self.write_response(writer, resp, keep_alive)
                return keep_alive

        # model and faults
        if model_raw is None and body_obj is not None:
            model_raw = body_obj.get("model")
        model, spec = split_model(model_raw)
        fault = {}
        try:
            queued = st.faults.take(provider, model)
            if queued:
                fault.update(queued)
            if spec is not None:
                if faults.looks_like_spec(spec):
                    fault.update(faults.parse_spec(spec))
                else:
                    model, spec = model_raw, None
            if mock_headers:
                fault.update(faults.from_headers(req.headers))
        except faults.FaultError as e:
            resp = mod.fault_error(400, {"message": "mock upstream: %s" % e}, model)
            stats["status"][resp.status] += 1
            self.write_response(writer, resp, keep_alive)
            return keep_alive
        if any(k in fault for k in faults.FAULT_KEYS):
            stats["faults_injected"] += 1

        delay = fault.get("delay_ms")
        if delay:
            if not await self.sleep_watch(reader, delay / 1000.0):
                stats["disconnected_before_response"] += 1
                raise Disconnected
        if fault.get("reset"):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            writer.transport.abort()
            raise Disconnected
        if fault.get("close"):
            writer.close()
            raise Disconnected
        status = fault.get("status")
        if status is not None and status >= 400:
            resp = mod.fault_error(status, fault, model)
            stats["status"][resp.status] += 1
            self.write_response(writer, resp, keep_alive)
            return keep_alive

        if body_obj is not None and spec is not None and "model" in body_obj:
            body_obj = dict(body_obj, model=model)
        try:
            resp = handler(req, body_obj, model, fault, st.strict, **extra)
        except Exception:
            traceback.print_exc()
            resp = mod.fault_error(500, {}, model)
        stats["status"][resp.status] += 1
        if isinstance(resp, Stream):
            await self.write_stream(reader, writer, resp, fault, keep_alive, provider)
            return keep_alive
        cut = fault.get("cut_after_chunks")
        if cut is not None:
            # non-streaming answer truncated: full content-length, half the body, then close
            body = resp.body
            writer.write(b"".join((status_line(resp.status), date_header(), resp.headers,
                                   b"content-length: %d\r\n\r\n" % len(body),
                                   body[:len(body) // 2])))
            await writer.drain()
            writer.close()
            raise Disconnected
        if replay_key is not None and not fault and spec is None and resp.regen is not None \
                and resp.status == 200:
            if len(st.replay) >= 512:
                st.replay.clear()
            st.replay[replay_key] = resp
        self.write_response(writer, resp, keep_alive)
        if writer.transport.get_write_buffer_size() > 65536:
            await writer.drain()
        return keep_alive

    def route(self, req):
        """-> (provider, handler, model_from_path, extra_kwargs)."""
        path = req.path
        m = req.method
        h = req.headers
        if path.startswith("/v1beta/"):
            if path == "/v1beta/models" and m == "GET":
                return "gemini", lambda *a: gemini_api.list_models(), None, {}
            if path.startswith("/v1beta/models/"):
                rest = unquote(path[len("/v1beta/models/"):])
                name, sep, method = rest.rpartition(":")
                if sep and m == "POST":
                    if method == "generateContent":
                        return "gemini", gemini_api.generate, name, {"stream": False, "sse": False}
                    if method == "streamGenerateContent":
                        return "gemini", gemini_api.generate, name, {
                            "stream": True, "sse": req.query.get("alt") == "sse"}
                    if method == "countTokens":
                        return "gemini", gemini_api.count_tokens, name, {}
                if not sep and m == "GET":
                    return "gemini", lambda *a: gemini_api.get_model(rest), rest, {}
            return "gemini", None, None, {}
        if path == "/v1/chat/completions" and m == "POST":
            return "openai", openai_api.chat, None, {}
        if path == "/v1/messages" and m == "POST":
            return "anthropic", anthropic_api.messages, None, {}
        if path == "/v1/messages/count_tokens" and m == "POST":
            return "anthropic", anthropic_api.count_tokens, None, {}
        if path == "/v1/embeddings" and m == "POST":
            return "openai", openai_api.embeddings, None, {}
        if path == "/v1/models" or path.startswith("/v1/models/"):
            anthropic = "anthropic-version" in h or "x-api-key" in h
            if m == "GET":
                mid = unquote(path[len("/v1/models/"):]) if path != "/v1/models" else None
                if anthropic:
                    return "anthropic", (lambda *a: anthropic_api.get_model(mid)) if mid else \
                        (lambda *a: anthropic_api.list_models()), None, {}
                return "openai", (lambda *a: openai_api.get_model(mid)) if mid else \
                    (lambda *a: openai_api.list_models()), None, {}
            return ("anthropic" if anthropic else "openai"), None, None, {}
        if path.startswith("/v1/messages"):
            return "anthropic", None, None, {}
        if path.startswith("/v1/"):
            return "openai", None, None, {}
        return None, None, None, {}

    # ---- control API -------------------------------------------------------

    def control(self, req):
        st = self.state
        path, m = req.path, req.method

        def ok(obj, status=200):
            return Response(status, b"content-type: application/json\r\n",
                            (json.dumps(obj, indent=1) + "\n").encode())

        def bad(msg, status=400):
            return ok({"error": msg}, status)

        def body():
            if not req.body:
                return None
            return json.loads(req.body)

        try:
            if path == "/__mock/faults":
                if m == "POST":
                    obj = body()
                    items = obj if isinstance(obj, list) else [obj]
                    added = [st.faults.add(o) for o in items]
                    return ok({"added": added, "faults": st.faults.list()})
                if m == "GET":
                    return ok({"faults": st.faults.list()})
                if m == "DELETE":
                    prov = req.query.get("provider")
                    return ok({"cleared": st.faults.clear(prov)})
            elif path == "/__mock/requests":
                if m == "GET":
                    limit = req.query.get("limit")
                    return ok(st.requests_json(req.query.get("provider"),
                                               int(limit) if limit else None))
                if m == "DELETE":
                    n = len(st.log)
                    st.log.clear()
                    return ok({"cleared": n})
            elif path == "/__mock/stats":
                if m == "GET":
                    return ok(st.stats_json())
                if m == "DELETE":
                    st.reset_stats()
                    return ok({"cleared": True})
            elif path == "/__mock/reset" and m == "POST":
                st.faults.clear()
                st.log.clear()
                st.reset_stats()
                return ok({"reset": True})
            elif path == "/__mock/close-idle" and m == "POST":
                # as a provider's edge does after its keep-alive timeout: the client finds out
                # only when it next looks at (or reuses) the connection
                idle = list(st.idle)
                for w in idle:
                    w.close()
                return ok({"closed": len(idle)})
            elif path == "/__mock/health" and m == "GET":
                return ok({"ok": True})
            else:
                return bad("unknown control route %s %s" % (m, path), 404)
            return bad("method not allowed", 405)
        except faults.FaultError as e:
            return bad(str(e))
        except (ValueError, TypeError) as e:
            return bad("bad request: %s" % e)


def log(msg):
    sys.stderr.write("[mock-upstream] %s\n" % msg)
    sys.stderr.flush()


async def main_async(args):
    state = State(args.require_key, strict=not args.lenient)
    server = Server(state, quiet=args.quiet)
    tls_srv = None
    if args.tls_port is not None:
        # The same mock over TLS as well, for the gateway's https path (tests bring a certificate
        # and the CA that signed it); control routes stay reachable on the plain port. Started
        # first, so the plain port answering means both are up.
        import ssl
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        tls_srv = await asyncio.start_server(server.handle_conn, args.host, args.tls_port, ssl=context,
                                             limit=1 << 20, backlog=1024, reuse_address=True)
        log("listening on https://%s:%d" % (args.host, tls_srv.sockets[0].getsockname()[1]))
    srv = await asyncio.start_server(server.handle_conn, args.host, args.port,
                                     limit=1 << 20, backlog=1024, reuse_address=True)
    port = srv.sockets[0].getsockname()[1]
    log("listening on http://%s:%d (OpenAI /v1/chat/completions, Anthropic /v1/messages, "
        "Gemini /v1beta/models/{model}:generateContent)" % (args.host, port))
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    print("READY %d" % port, flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        except NotImplementedError:
            pass
    async with srv:
        await stop
    if tls_srv is not None:
        tls_srv.close()
    log("stopped")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock OpenAI/Anthropic/Gemini upstream with fault injection")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000, help="0 picks a free port (printed as READY <port>)")
    ap.add_argument("--require-key", default=None,
                    help="accept only this API key (default: any non-empty key)")
    ap.add_argument("--lenient", action="store_true",
                    help="do not reject unknown top-level request fields")
    ap.add_argument("--port-file", default=None, help="write the bound port to this file")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--tls-port", type=int, default=None, help="also serve HTTPS on this port")
    ap.add_argument("--tls-cert", default=None, help="PEM certificate chain for --tls-port")
    ap.add_argument("--tls-key", default=None, help="PEM private key for --tls-port")
    args = ap.parse_args(argv)
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
