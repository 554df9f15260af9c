#!/usr/bin/env python3
"""Self-test of the mock upstream: starts it on a free port in a subprocess
and checks each provider's wire format, tool calls, images, the control API
and every fault.

    python3 scripts/mock-upstream/test_mock_upstream.py [-v]
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk-test-key-123456"
OAI = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
ANT = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
GEM = {"x-goog-api-key": KEY, "Content-Type": "application/json"}

TOOLS_OAI = [{"type": "function", "function": {
    "name": "lookup_order", "description": "Fetch an order",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "second_tool", "parameters": {"type": "object"}}}]
TOOLS_ANT = [{"name": "lookup_order", "description": "Fetch an order",
              "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
             {"name": "second_tool", "input_schema": {"type": "object"}}]
TOOLS_GEM = [{"functionDeclarations": [
    {"name": "lookup_order", "parameters": {"type": "OBJECT",
                                             "properties": {"query": {"type": "STRING"}}}},
    {"name": "second_tool"}]}]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


class MockServer:
    proc = None
    port = None

    @classmethod
    def start(cls):
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "mock_upstream.py"), "--port", "0", "--quiet",
             "--require-key", KEY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        if not line.startswith("READY "):
            cls.proc.kill()
            raise RuntimeError("mock did not start: %r %s" % (line, cls.proc.stderr.read()))
        cls.port = int(line.split()[1])

    @classmethod
    def stop(cls):
        if cls.proc is not None:
            cls.proc.terminate()
            try:
                cls.proc.wait(5)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
            cls.proc.stdout.close()
            cls.proc.stderr.close()


def setUpModule():
    MockServer.start()


def tearDownModule():
    MockServer.stop()


class Base(unittest.TestCase):
    def setUp(self):
        self.ctl("POST", "/__mock/reset")

    # ---- helpers --------------------------------------------------------

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", MockServer.port, timeout=timeout)

    def call(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        try:
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            raw = r.read()
        finally:
            if conn is None:
                c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, raw

    def json_call(self, method, path, body=None, headers=None):
        st, h, raw = self.call(method, path, body, headers)
        return st, h, json.loads(raw)

    def ctl(self, method, path, body=None):
        st, h, raw = self.call(method, path, body)
        self.assertEqual(st, 200, raw)
        return json.loads(raw)

    def oai(self, body, headers=None):
        return self.json_call("POST", "/v1/chat/completions", body, dict(OAI, **(headers or {})))

    def ant(self, body, headers=None):
        return self.json_call("POST", "/v1/messages", body, dict(ANT, **(headers or {})))

    def gem(self, model, body, method="generateContent", headers=None, query=""):
        return self.json_call("POST", "/v1beta/models/%s:%s%s" % (model, method, query), body,
                              dict(GEM, **(headers or {})))

    @staticmethod
    def sse_data(raw, sep=b"\n\n"):
        """list of data payloads (str) from an unnamed-event SSE body."""
        out = []
        for block in raw.split(sep):
            if not block.strip():
                continue
            lines = block.decode().replace("\r\n", "\n").split("\n")
            data = [ln[6:] for ln in lines if ln.startswith("data: ")]
            out.append("\n".join(data))
        return out

    @staticmethod
    def sse_named(raw):
        """list of (event, data-object) from a named-event SSE body."""
        out = []
        for block in raw.decode().split("\n\n"):
            if not block.strip():
                continue
            ev, data = None, None
            for ln in block.split("\n"):
                if ln.startswith("event: "):
                    ev = ln[7:]
                elif ln.startswith("data: "):
                    data = json.loads(ln[6:])
            out.append((ev, data))
        return out

    def raw_request(self, path, body, headers, timeout=5):
        """Send one request on a raw socket; return everything read until EOF
        (or the exception that ended the read)."""
        s = socket.create_connection(("127.0.0.1", MockServer.port), timeout=timeout)
        data = json.dumps(body).encode()
        head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (path, len(data))
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode() + data)
        chunks, err = [], None
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except OSError as e:
            err = e
        s.close()
        return b"".join(chunks), err


# --------------------------------------------------------------------------


class OpenAITests(Base):
    BODY = {"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello there, how are you today?"}]}

    def test_non_streaming_shape(self):
        st, h, obj = self.oai(self.BODY)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("application/json"))
        self.assertIn("x-request-id", h)
        self.assertIn("x-ratelimit-remaining-requests", h)
        self.assertTrue(obj["id"].startswith("chatcmpl-"))
        self.assertEqual(obj["object"], "chat.completion")
        self.assertIsInstance(obj["created"], int)
        self.assertEqual(obj["model"], "gpt-4o-mini")
        self.assertIn("system_fingerprint", obj)
        ch = obj["choices"][0]
        self.assertEqual(ch["index"], 0)
        self.assertEqual(ch["finish_reason"], "stop")
        self.assertIsNone(ch["logprobs"])
        msg = ch["message"]
        self.assertEqual(msg["role"], "assistant")
        self.assertIsNone(msg["refusal"])
        self.assertEqual(msg["content"], "mock reply to: Hello there, how are you today?")
        u = obj["usage"]
        self.assertEqual(u["prompt_tokens"], 3 + 3 + 6)      # words of both messages + 3
        self.assertEqual(u["completion_tokens"], 9)
        self.assertEqual(u["total_tokens"], u["prompt_tokens"] + u["completion_tokens"])
        self.assertEqual(u["prompt_tokens_details"], {"cached_tokens": 0, "audio_tokens": 0})
        self.assertEqual(u["completion_tokens_details"]["reasoning_tokens"], 0)

    def test_replayed_identical_request_gets_fresh_ids(self):
        _, h1, a = self.oai(self.BODY)
        _, h2, b = self.oai(self.BODY)
        self.assertNotEqual(a["id"], b["id"])
        self.assertNotEqual(h1["x-request-id"], h2["x-request-id"])
        a.pop("id"), b.pop("id"), a.pop("created"), b.pop("created")
        self.assertEqual(a, b)

    def _stream(self, extra):
        body = dict(self.BODY, stream=True, **extra)
        st, h, raw = self.call("POST", "/v1/chat/completions", body, OAI)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/event-stream"))
        self.assertTrue(raw.endswith(b"data: [DONE]\n\n"))
        for block in raw.split(b"\n\n")[:-1]:
            self.assertTrue(block.startswith(b"data: ") and b"\n" not in block, block)
        datas = self.sse_data(raw)
        self.assertEqual(datas[-1], "[DONE]")
        return [json.loads(d) for d in datas[:-1]]

    def test_streaming_with_usage(self):
        chunks = self._stream({"stream_options": {"include_usage": True}})
        ids = {c["id"] for c in chunks}
        self.assertEqual(len(ids), 1)
        self.assertTrue(all(c["object"] == "chat.completion.chunk" for c in chunks))
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        usage_chunk = chunks[-1]
        self.assertEqual(usage_chunk["choices"], [])
        self.assertEqual(usage_chunk["usage"]["prompt_tokens"], 12)
        self.assertEqual(usage_chunk["usage"]["completion_tokens"], 9)
        fin = chunks[-2]["choices"][0]
        self.assertEqual(fin["delta"], {})
        self.assertEqual(fin["finish_reason"], "stop")
        for c in chunks[:-1]:
            self.assertIsNone(c["usage"])
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
        self.assertEqual(text, "mock reply to: Hello there, how are you today?")
        content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
        self.assertEqual(len(content_chunks), 5)

    def test_streaming_without_usage(self):
        chunks = self._stream({"stream_options": {"include_obfuscation": False}})
        self.assertTrue(all(c["choices"] for c in chunks))
        self.assertTrue(all("usage" not in c and "obfuscation" not in c for c in chunks))
        self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "stop")

    def test_chunk_count_control(self):
        chunks = self._stream({"model": "gpt-4o-mini@chunks=12"})
        content = [c for c in chunks if c["choices"][0]["delta"].get("content")]
        self.assertEqual(len(content), 12)
        self.assertEqual(chunks[0]["model"], "gpt-4o-mini")

    def test_tool_call(self):
        body = {"model": "gpt-4o", "tools": TOOLS_OAI,
                "messages": [{"role": "user", "content": "Please call tool for order A-17"}]}
        st, _, obj = self.oai(body)
        self.assertEqual(st, 200)
        ch = obj["choices"][0]
        self.assertEqual(ch["finish_reason"], "tool_calls")
        self.assertIsNone(ch["message"]["content"])
        tc = ch["message"]["tool_calls"]
        self.assertEqual(len(tc), 1)
        self.assertTrue(tc[0]["id"].startswith("call_"))
        self.assertEqual(tc[0]["type"], "function")
        self.assertEqual(tc[0]["function"]["name"], "lookup_order")
        self.assertEqual(json.loads(tc[0]["function"]["arguments"]),
                         {"query": "Please call tool for order A-17"})

    def test_tool_call_streaming_and_parallel(self):
        body = {"model": "gpt-4o", "tools": TOOLS_OAI, "stream": True,
                "messages": [{"role": "user", "content": "call all tools now"}]}
        st, _, raw = self.call("POST", "/v1/chat/completions", body, OAI)
        chunks = [json.loads(d) for d in self.sse_data(raw)[:-1]]
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        calls = {}
        for c in chunks:
            for frag in c["choices"][0]["delta"].get("tool_calls") or ():
                slot = calls.setdefault(frag["index"], {"args": ""})
                if "id" in frag:
                    self.assertNotIn("id", slot)
                    slot["id"], slot["name"] = frag["id"], frag["function"]["name"]
                slot["args"] += frag["function"].get("arguments", "")
        self.assertEqual(sorted(calls), [0, 1])
        self.assertEqual(calls[1]["name"], "second_tool")
        self.assertEqual(json.loads(calls[0]["args"]), {"query": "call all tools now"})
        self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "tool_calls")

    def test_forced_tool_choice(self):
        body = {"model": "gpt-4o", "tools": TOOLS_OAI,
                "tool_choice": {"type": "function", "function": {"name": "second_tool"}},
                "messages": [{"role": "user", "content": "no trigger words here"}]}
        _, _, obj = self.oai(body)
        self.assertEqual(obj["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
                         "second_tool")

    def test_tool_result_round_trip(self):
        body = {"model": "gpt-4o", "tools": TOOLS_OAI, "messages": [
            {"role": "user", "content": "call tool please"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "lookup_order", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "shipped yesterday"}]}
        _, _, obj = self.oai(body)
        self.assertEqual(obj["choices"][0]["message"]["content"],
                         "mock reply to tool result: shipped yesterday")

    def test_image(self):
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}}]}]}
        _, _, obj = self.oai(body)
        self.assertIn("image", obj["choices"][0]["message"]["content"])

    def test_max_tokens_length(self):
        body = dict(self.BODY, max_tokens=3)
        _, _, obj = self.oai(body)
        self.assertEqual(obj["choices"][0]["finish_reason"], "length")
        self.assertEqual(obj["choices"][0]["message"]["content"], "mock reply to:")

    def test_auth_errors(self):
        st, _, obj = self.json_call("POST", "/v1/chat/completions", self.BODY,
                                    {"Content-Type": "application/json"})
        self.assertEqual(st, 401)
        self.assertEqual(obj["error"]["type"], "invalid_request_error")
        self.assertEqual(set(obj["error"]), {"message", "type", "param", "code"})
        st, _, obj = self.json_call("POST", "/v1/chat/completions", self.BODY,
                                    {"Authorization": "Bearer sk-wrong-key-000000"})
        self.assertEqual(st, 401)
        self.assertEqual(obj["error"]["code"], "invalid_api_key")
        self.assertNotIn("sk-wrong-key-000000", obj["error"]["message"])

    def test_validation_errors(self):
        st, _, obj = self.oai({"model": "gpt-4o"})
        self.assertEqual((st, obj["error"]["code"]), (400, "missing_required_parameter"))
        st, _, obj = self.oai({"model": "gpt-4o", "messages": [
            {"role": "tool", "tool_call_id": "x", "content": "y"}]})
        self.assertEqual(st, 400)
        st, _, obj = self.oai(dict(self.BODY, top_k=3))
        self.assertEqual(st, 400)
        self.assertIn("Unrecognized request argument", obj["error"]["message"])
        st, _, obj = self.oai(dict(self.BODY, model="o3", max_tokens=5))
        self.assertEqual((st, obj["error"]["code"]), (400, "unsupported_parameter"))
        st, _, obj = self.json_call("POST", "/v1/chat/completions", b"{not json", OAI)
        self.assertEqual(st, 400)
        st, _, obj = self.json_call("POST", "/v1/nope", self.BODY, OAI)
        self.assertEqual(st, 404)
        self.assertEqual(obj["error"]["message"], "Invalid URL (POST /v1/nope)")

    def test_models(self):
        st, _, obj = self.json_call("GET", "/v1/models", None, OAI)
        self.assertEqual(st, 200)
        self.assertEqual(obj["object"], "list")
        self.assertTrue(all(m["object"] == "model" and "owned_by" in m for m in obj["data"]))
        self.assertIn("gpt-4o-mini", [m["id"] for m in obj["data"]])


class AnthropicTests(Base):
    BODY = {"model": "claude-sonnet-4-5", "max_tokens": 256, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello there, how are you today?"}]}

    def test_non_streaming_shape(self):
        st, h, obj = self.ant(self.BODY)
        self.assertEqual(st, 200)
        self.assertIn("request-id", h)
        self.assertIn("anthropic-ratelimit-requests-remaining", h)
        self.assertTrue(obj["id"].startswith("msg_"))
        self.assertEqual((obj["type"], obj["role"], obj["model"]),
                         ("message", "assistant", "claude-sonnet-4-5"))
        self.assertEqual(obj["content"], [{"type": "text",
                                           "text": "mock reply to: Hello there, how are you today?"}])
        self.assertEqual(obj["stop_reason"], "end_turn")
        self.assertIsNone(obj["stop_sequence"])
        u = obj["usage"]
        self.assertEqual(u["input_tokens"], 2 + 6 + 3)
        self.assertEqual(u["output_tokens"], 9)
        self.assertEqual(u["cache_creation_input_tokens"], 0)
        self.assertEqual(u["cache_read_input_tokens"], 0)

    def test_streaming_events(self):
        st, h, raw = self.call("POST", "/v1/messages", dict(self.BODY, stream=True), ANT)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/event-stream"))
        self.assertNotIn(b"[DONE]", raw)
        evs = self.sse_named(raw)
        names = [e for e, _ in evs]
        self.assertEqual(names[:3], ["message_start", "content_block_start", "ping"])
        self.assertEqual(names[-4:], ["content_block_delta", "content_block_stop",
                                      "message_delta", "message_stop"])
        for name, data in evs:
            self.assertEqual(name, data["type"])
        start = evs[0][1]["message"]
        self.assertEqual(start["content"], [])
        self.assertIsNone(start["stop_reason"])
        self.assertEqual(start["usage"]["input_tokens"], 11)
        text = "".join(d["delta"]["text"] for e, d in evs if e == "content_block_delta")
        self.assertEqual(text, "mock reply to: Hello there, how are you today?")
        md = evs[-2][1]
        self.assertEqual(md["delta"], {"stop_reason": "end_turn", "stop_sequence": None})
        self.assertEqual(md["usage"], {"output_tokens": 9})

    def test_tool_use_streaming(self):
        body = dict(self.BODY, tools=TOOLS_ANT, stream=True,
                    messages=[{"role": "user", "content": "please call tool for A-17"}])
        _, _, raw = self.call("POST", "/v1/messages", body, ANT)
        evs = self.sse_named(raw)
        starts = [d for e, d in evs if e == "content_block_start"]
        self.assertEqual([s["content_block"]["type"] for s in starts], ["text", "tool_use"])
        tool = starts[1]["content_block"]
        self.assertTrue(tool["id"].startswith("toolu_"))
        self.assertEqual((tool["name"], tool["input"]), ("lookup_order", {}))
        frags = [d["delta"]["partial_json"] for e, d in evs
                 if e == "content_block_delta" and d["index"] == starts[1]["index"]]
        self.assertEqual(frags[0], "")
        self.assertGreater(len(frags), 2)
        self.assertEqual(json.loads("".join(frags)), {"query": "please call tool for A-17"})
        self.assertEqual(evs[-2][1]["delta"]["stop_reason"], "tool_use")

    def test_tool_use_non_streaming_and_result(self):
        body = dict(self.BODY, tools=TOOLS_ANT, tool_choice={"type": "any"})
        _, _, obj = self.ant(body)
        self.assertEqual(obj["stop_reason"], "tool_use")
        tu = obj["content"][-1]
        self.assertEqual(tu["type"], "tool_use")
        self.assertEqual(tu["input"], {"query": "Hello there, how are you today?"})
        body = dict(self.BODY, tools=TOOLS_ANT, messages=[
            {"role": "user", "content": "call tool"},
            {"role": "assistant", "content": [tu]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tu["id"],
                                          "content": "order shipped"}]}])
        _, _, obj = self.ant(body)
        self.assertEqual(obj["content"][0]["text"], "mock reply to tool result: order shipped")
        # a tool_use without its tool_result is rejected like the real API
        body["messages"] = body["messages"][:2] + [{"role": "user", "content": "hi"}]
        st, _, obj = self.ant(body)
        self.assertEqual(st, 400)
        self.assertIn("tool_result", obj["error"]["message"])

    def test_image(self):
        body = dict(self.BODY, messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.org/a.png"}},
            {"type": "text", "text": "Describe these"}]}])
        _, _, obj = self.ant(body)
        self.assertIn("2 images", obj["content"][0]["text"])

    def test_missing_version_and_auth(self):
        h = dict(ANT)
        del h["anthropic-version"]
        st, _, obj = self.json_call("POST", "/v1/messages", self.BODY, h)
        self.assertEqual(st, 400)
        self.assertEqual(obj["type"], "error")
        self.assertEqual(obj["error"]["type"], "invalid_request_error")
        self.assertIn("anthropic-version", obj["error"]["message"])
        st, _, obj = self.json_call("POST", "/v1/messages", self.BODY,
                                    dict(ANT, **{"x-api-key": "wrong"}))
        self.assertEqual((st, obj["error"]["type"]), (401, "authentication_error"))
        h = dict(ANT)
        del h["x-api-key"]
        st, _, obj = self.json_call("POST", "/v1/messages", self.BODY, h)
        self.assertEqual((st, obj["error"]["type"]), (401, "authentication_error"))

    def test_validation(self):
        body = dict(self.BODY)
        del body["max_tokens"]
        st, _, obj = self.ant(body)
        self.assertEqual((st, obj["error"]["message"]), (400, "max_tokens: Field required"))
        st, _, obj = self.ant(dict(self.BODY, temperature=0.5, top_p=0.9))
        self.assertEqual(st, 400)
        st, _, obj = self.ant(dict(self.BODY, messages=[{"role": "system", "content": "x"}]))
        self.assertEqual(st, 400)

    def test_cached_tokens(self):
        _, _, obj = self.ant(dict(self.BODY, model="claude-sonnet-4-5@cached_tokens=5,cache_write_tokens=2"))
        u = obj["usage"]
        self.assertEqual((u["input_tokens"], u["cache_read_input_tokens"],
                          u["cache_creation_input_tokens"]), (4, 5, 2))
        self.assertEqual(obj["model"], "claude-sonnet-4-5")

    def test_thinking(self):
        body = dict(self.BODY, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1024},
                    stream=True)
        _, _, raw = self.call("POST", "/v1/messages", body, ANT)
        evs = self.sse_named(raw)
        starts = [d["content_block"]["type"] for e, d in evs if e == "content_block_start"]
        self.assertEqual(starts, ["thinking", "text"])
        kinds = {d["delta"]["type"] for e, d in evs if e == "content_block_delta"}
        self.assertEqual(kinds, {"thinking_delta", "signature_delta", "text_delta"})

    def test_models_and_count_tokens(self):
        st, _, obj = self.json_call("GET", "/v1/models", None, ANT)
        self.assertEqual(st, 200)
        self.assertEqual(obj["data"][0]["type"], "model")
        self.assertIn("has_more", obj)
        st, _, obj = self.json_call("POST", "/v1/messages/count_tokens",
                                    {"model": "claude-sonnet-4-5", "messages": self.BODY["messages"]},
                                    ANT)
        self.assertEqual((st, obj), (200, {"input_tokens": 9}))


class GeminiTests(Base):
    BODY = {"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hello there, how are you today?"}]}]}

    def test_non_streaming_shape(self):
        st, h, obj = self.gem("gemini-2.5-flash", self.BODY)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("application/json"))
        c = obj["candidates"][0]
        self.assertEqual(c["content"]["role"], "model")
        self.assertEqual(c["content"]["parts"], [{"text": "mock reply to: Hello there, how are you today?"}])
        self.assertEqual(c["finishReason"], "STOP")
        u = obj["usageMetadata"]
        self.assertEqual((u["promptTokenCount"], u["candidatesTokenCount"], u["totalTokenCount"]),
                         (11, 9, 20))
        self.assertEqual(obj["modelVersion"], "gemini-2.5-flash")
        self.assertTrue(obj["responseId"])

    def test_key_in_query_and_auth_errors(self):
        st, _, _ = self.json_call("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key=" + KEY,
                                  self.BODY, {"Content-Type": "application/json"})
        self.assertEqual(st, 200)
        st, _, obj = self.json_call("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                    self.BODY, {"Content-Type": "application/json"})
        self.assertEqual((st, obj["error"]["status"]), (403, "PERMISSION_DENIED"))
        st, _, obj = self.json_call("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                    self.BODY, {"x-goog-api-key": "bad"})
        self.assertEqual((st, obj["error"]["status"]), (400, "INVALID_ARGUMENT"))
        self.assertEqual(obj["error"]["details"][0]["reason"], "API_KEY_INVALID")

    def test_streaming_sse(self):
        st, h, raw = self.call("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                               self.BODY, GEM)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/event-stream"))
        self.assertTrue(raw.startswith(b"data: {"))
        self.assertTrue(raw.endswith(b"}\r\n\r\n"))
        self.assertNotIn(b"[DONE]", raw)
        events = [json.loads(d) for d in self.sse_data(raw, b"\r\n\r\n")]
        self.assertEqual(len(events), 5)
        text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
        self.assertEqual(text, "mock reply to: Hello there, how are you today?")
        self.assertTrue(all("finishReason" not in e["candidates"][0] for e in events[:-1]))
        self.assertEqual(events[-1]["candidates"][0]["finishReason"], "STOP")
        self.assertEqual(events[-1]["usageMetadata"]["candidatesTokenCount"], 9)
        self.assertEqual(len({e["responseId"] for e in events}), 1)

    def test_streaming_json_array(self):
        st, h, raw = self.call("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                               self.BODY, GEM)
        self.assertEqual(st, 200)
        arr = json.loads(raw)
        self.assertEqual(len(arr), 5)
        self.assertEqual(arr[-1]["candidates"][0]["finishReason"], "STOP")

    def test_function_call(self):
        body = dict(self.BODY, tools=TOOLS_GEM,
                    contents=[{"role": "user", "parts": [{"text": "call tool for A-17"}]}])
        _, _, obj = self.gem("gemini-2.5-flash", body)
        c = obj["candidates"][0]
        self.assertEqual(c["finishReason"], "STOP")
        part = c["content"]["parts"][0]
        self.assertEqual(part["functionCall"], {"name": "lookup_order",
                                                "args": {"query": "call tool for A-17"}})
        self.assertNotIn("id", part["functionCall"])
        self.assertIn("thoughtSignature", part)
        # streamed: the whole call in one chunk
        _, _, raw = self.call("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                              body, GEM)
        events = [json.loads(d) for d in self.sse_data(raw, b"\r\n\r\n")]
        self.assertEqual(len(events), 1)
        self.assertIn("functionCall", events[0]["candidates"][0]["content"]["parts"][0])
        # forced by toolConfig
        body = dict(self.BODY, tools=TOOLS_GEM, toolConfig={"functionCallingConfig": {
            "mode": "ANY", "allowedFunctionNames": ["second_tool"]}})
        _, _, obj = self.gem("gemini-2.0-flash", body)
        self.assertEqual(obj["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
                         "second_tool")
        # function response -> text answer mentioning it
        body = dict(self.BODY, tools=TOOLS_GEM, contents=[
            {"role": "user", "parts": [{"text": "call tool"}]},
            {"role": "model", "parts": [part]},
            {"role": "user", "parts": [{"functionResponse": {"name": "lookup_order",
                                                             "response": {"status": "shipped"}}}]}])
        _, _, obj = self.gem("gemini-2.5-flash", body)
        self.assertEqual(obj["candidates"][0]["content"]["parts"][0]["text"],
                         'mock reply to tool result: {"status":"shipped"}')

    def test_image(self):
        body = {"contents": [{"role": "user", "parts": [
            {"text": "What is it?"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]}]}
        _, _, obj = self.gem("gemini-2.5-flash", body)
        self.assertIn("image", obj["candidates"][0]["content"]["parts"][0]["text"])

    def test_validation(self):
        st, _, obj = self.gem("gemini-2.5-flash", {"contents": []})
        self.assertEqual((st, obj["error"]["status"]), (400, "INVALID_ARGUMENT"))
        st, _, obj = self.gem("gemini-2.5-flash", dict(self.BODY, messages=[]))
        self.assertEqual(st, 400)
        self.assertIn('Unknown name "messages"', obj["error"]["message"])

    def test_models_and_count_tokens(self):
        st, _, obj = self.json_call("GET", "/v1beta/models", None, GEM)
        self.assertEqual(st, 200)
        self.assertTrue(obj["models"][0]["name"].startswith("models/"))
        st, _, obj = self.gem("gemini-2.5-flash", self.BODY, "countTokens")
        self.assertEqual((st, obj["totalTokens"]), (200, 11))


class FaultTests(Base):
    OBODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    ABODY = {"model": "claude-haiku-4-5", "max_tokens": 100,
             "messages": [{"role": "user", "content": "hello"}]}
    GBODY = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}

    def test_status_count(self):
        out = self.ctl("POST", "/__mock/faults", {"provider": "openai", "status": 503, "count": 2})
        self.assertEqual(out["faults"][0]["remaining"], 2)
        for _ in range(2):
            st, _, obj = self.oai(self.OBODY)
            self.assertEqual((st, obj["error"]["type"]), (503, "server_error"))
        st, _, _ = self.oai(self.OBODY)
        self.assertEqual(st, 200)
        self.assertEqual(self.ctl("GET", "/__mock/faults")["faults"], [])
        # other providers are untouched by an openai fault
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "status": 500})
        st, _, _ = self.ant(self.ABODY)
        self.assertEqual(st, 200)

    def test_sticky_fault_and_clear(self):
        self.ctl("POST", "/__mock/faults", {"provider": "anthropic", "status": 529, "count": -1})
        for _ in range(3):
            st, _, obj = self.ant(self.ABODY)
            self.assertEqual(st, 529)
            self.assertEqual(obj["error"]["type"], "overloaded_error")
        self.assertEqual(self.ctl("DELETE", "/__mock/faults")["cleared"], 1)
        st, _, _ = self.ant(self.ABODY)
        self.assertEqual(st, 200)

    def test_model_filter(self):
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "model": "gpt-4o", "status": 500})
        st, _, _ = self.oai(self.OBODY)           # gpt-4o-mini: not matched
        self.assertEqual(st, 200)
        st, _, _ = self.oai(dict(self.OBODY, model="gpt-4o"))
        self.assertEqual(st, 500)

    def test_rate_limit_headers(self):
        self.ctl("POST", "/__mock/faults", [
            {"provider": "openai", "status": 429, "retry_after": 3},
            {"provider": "anthropic", "status": 429, "retry_after": 4},
            {"provider": "gemini", "status": 429, "retry_after": 5}])
        st, h, obj = self.oai(self.OBODY)
        self.assertEqual((st, h["retry-after"], h["x-ratelimit-remaining-requests"]), (429, "3", "0"))
        self.assertEqual(obj["error"]["code"], "rate_limit_exceeded")
        st, h, obj = self.ant(self.ABODY)
        self.assertEqual((st, h["retry-after"], h["anthropic-ratelimit-requests-remaining"]),
                         (429, "4", "0"))
        self.assertEqual(obj["error"]["type"], "rate_limit_error")
        st, h, obj = self.gem("gemini-2.5-flash", self.GBODY)
        self.assertEqual((st, obj["error"]["code"], obj["error"]["status"]),
                         (429, 429, "RESOURCE_EXHAUSTED"))
        retry = [d for d in obj["error"]["details"] if d["@type"].endswith("RetryInfo")]
        self.assertEqual(retry[0]["retryDelay"], "5s")

    def test_error_type_names(self):
        cases = [("openai", 500, "server_error"), ("anthropic", 500, "api_error"),
                 ("gemini", 500, "INTERNAL"), ("gemini", 503, "UNAVAILABLE")]
        for prov, status, name in cases:
            self.ctl("POST", "/__mock/faults", {"provider": prov, "status": status})
            if prov == "openai":
                st, _, obj = self.oai(self.OBODY)
                got = obj["error"]["type"]
            elif prov == "anthropic":
                st, _, obj = self.ant(self.ABODY)
                got = obj["error"]["type"]
            else:
                st, _, obj = self.gem("gemini-2.5-flash", self.GBODY)
                got = obj["error"]["status"]
            self.assertEqual((st, got), (status, name))

    def test_model_suffix_and_headers(self):
        st, _, obj = self.oai(dict(self.OBODY, model="gpt-4o-mini@status=429,retry_after=2"))
        self.assertEqual(st, 429)
        self.assertIn("gpt-4o-mini", obj["error"]["message"])
        self.assertNotIn("@", obj["error"]["message"])
        st, _, _ = self.oai(self.OBODY, {"x-mock-fault": "status=502"})
        self.assertEqual(st, 502)
        st, _, _ = self.oai(self.OBODY, {"x-mock-status": "504"})
        self.assertEqual(st, 504)
        st, _, obj = self.gem("gemini-2.5-flash@status=503", self.GBODY)
        self.assertEqual((st, obj["error"]["status"]), (503, "UNAVAILABLE"))
        st, _, obj = self.gem("gemini-2.5-flash%40status%3D500", self.GBODY)   # URL-encoded
        self.assertEqual(st, 500)
        st, _, obj = self.oai(dict(self.OBODY, model="gpt-4o@bogus=1"))
        self.assertEqual(st, 400)
        self.assertIn("unknown mock fault key", obj["error"]["message"])
        # a Vertex-style '@version' suffix is not a fault spec
        st, _, obj = self.ant(dict(self.ABODY, model="claude-3-5-sonnet@20240620"))
        self.assertEqual((st, obj["model"]), (200, "claude-3-5-sonnet@20240620"))

    def test_delay_before_headers(self):
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "delay_ms": 400})
        t = time.monotonic()
        st, _, _ = self.oai(self.OBODY)
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.39)

    def test_reset_and_close(self):
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "reset": True})
        data, err = self.raw_request("/v1/chat/completions", self.OBODY, OAI)
        self.assertEqual(data, b"")
        self.ctl("POST", "/__mock/faults", {"provider": "gemini", "close": True})
        data, err = self.raw_request("/v1beta/models/gemini-2.5-flash:generateContent", self.GBODY, GEM)
        self.assertEqual((data, err), (b"", None))
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.call("POST", "/v1/chat/completions", self.OBODY,
                      dict(OAI, **{"x-mock-fault": "reset"}))

    def test_cut_after_chunks(self):
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "cut_after_chunks": 3})
        data, err = self.raw_request("/v1/chat/completions", dict(self.OBODY, stream=True), OAI)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))
        self.assertEqual(data.count(b"data: "), 3)
        self.assertFalse(data.endswith(b"0\r\n\r\n"))          # chunked body never terminated
        self.assertNotIn(b"[DONE]", data)
        with self.assertRaises(http.client.IncompleteRead):
            self.call("POST", "/v1/chat/completions", dict(self.OBODY, stream=True),
                      dict(OAI, **{"x-mock-cut-after-chunks": "2"}))
        # non-streaming: half a body under a full content-length
        with self.assertRaises(http.client.IncompleteRead):
            self.call("POST", "/v1/chat/completions", self.OBODY,
                      dict(OAI, **{"x-mock-fault": "cut_after_chunks=0"}))
        stats = self.ctl("GET", "/__mock/stats")
        self.assertEqual(stats["providers"]["openai"]["streams_cut_by_fault"], 2)

    def test_stream_error_after(self):
        self.ctl("POST", "/__mock/faults", {"provider": "anthropic", "stream_error_after": 2})
        st, _, raw = self.call("POST", "/v1/messages", dict(self.ABODY, stream=True), ANT)
        evs = self.sse_named(raw)
        self.assertEqual([e for e, _ in evs], ["message_start", "content_block_start", "error"])
        self.assertEqual(evs[-1][1], {"type": "error", "error": {"type": "overloaded_error",
                                                                "message": "Overloaded"}})
        st, _, raw = self.call("POST", "/v1/chat/completions", dict(self.OBODY, stream=True),
                               dict(OAI, **{"x-mock-stream-error-after": "1"}))
        datas = self.sse_data(raw)
        self.assertEqual(len(datas), 2)
        self.assertEqual(json.loads(datas[1])["error"]["type"], "server_error")
        self.assertNotIn(b"[DONE]", raw)
        st, _, raw = self.call("POST", "/v1beta/models/gemini-2.5-flash@stream_error_after=1:"
                               "streamGenerateContent?alt=sse", self.GBODY, GEM)
        datas = self.sse_data(raw, b"\r\n\r\n")
        self.assertEqual(json.loads(datas[1])["error"]["status"], "UNAVAILABLE")

    def test_slow_chunks(self):
        self.ctl("POST", "/__mock/faults", {"provider": "openai", "slow_chunks_ms": 30, "chunks": 10})
        t = time.monotonic()
        st, _, raw = self.call("POST", "/v1/chat/completions", dict(self.OBODY, stream=True), OAI)
        elapsed = time.monotonic() - t
        datas = self.sse_data(raw)
        self.assertEqual(len(datas), 1 + 10 + 1 + 1)       # role, 10 content, finish, [DONE]
        self.assertGreaterEqual(elapsed, 0.03 * 12 * 0.9)

    def test_client_cancel_is_counted(self):
        self.ctl("POST", "/__mock/faults", {"provider": "anthropic", "slow_chunks_ms": 50, "chunks": 300})
        s = socket.create_connection(("127.0.0.1", MockServer.port), timeout=5)
        data = json.dumps(dict(self.ABODY, stream=True)).encode()
        head = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(data)
        head += "".join("%s: %s\r\n" % kv for kv in ANT.items()) + "\r\n"
        s.sendall(head.encode() + data)
        got = b""
        while b"content_block_delta" not in got:
            got += s.recv(65536)
        time.sleep(0.2)
        s.close()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            stats = self.ctl("GET", "/__mock/stats")
            if stats["streams_cancelled_by_client"] == 1:
                break
            time.sleep(0.05)
        self.assertEqual(stats["streams_cancelled_by_client"], 1)
        self.assertEqual(stats["providers"]["anthropic"]["streams_cancelled_by_client"], 1)
        self.assertEqual(stats["providers"]["anthropic"]["streams_completed"], 0)
        self.assertEqual(stats["streams_active"], 0)

    def test_bad_control_input(self):
        st, _, obj = self.json_call("POST", "/__mock/faults", {"provider": "nope", "status": 500})
        self.assertEqual(st, 400)
        st, _, obj = self.json_call("POST", "/__mock/faults", {"provider": "openai", "stauts": 500})
        self.assertEqual(st, 400)


class ControlTests(Base):
    def test_requests_log_redacts_and_clears(self):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "log me"}]}
        self.oai(body)
        self.gem("gemini-2.5-flash", FaultTests.GBODY, query="?key=" + KEY)
        self.json_call("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key=" + KEY,
                       FaultTests.GBODY, {"Content-Type": "application/json"})
        log = self.ctl("GET", "/__mock/requests")
        self.assertEqual(log["count"], 3)
        r = log["requests"][0]
        self.assertEqual((r["provider"], r["method"], r["path"]),
                         ("openai", "POST", "/v1/chat/completions"))
        self.assertEqual(r["body"], body)
        self.assertEqual(r["headers"]["authorization"], "Bearer sk-t***")
        self.assertNotIn(KEY, json.dumps(log))
        self.assertEqual(log["requests"][2]["query"]["key"], "sk-t***")
        self.assertEqual(self.ctl("GET", "/__mock/requests?provider=gemini")["count"], 2)
        self.ctl("DELETE", "/__mock/requests")
        self.assertEqual(self.ctl("GET", "/__mock/requests")["count"], 0)

    def test_log_keeps_last_100(self):
        c = self.conn()
        for i in range(105):
            self.call("POST", "/v1/chat/completions",
                      {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "n%d" % i}]},
                      OAI, conn=c)
        c.close()
        log = self.ctl("GET", "/__mock/requests")
        self.assertEqual(log["count"], 100)
        self.assertEqual(log["requests"][-1]["body"]["messages"][0]["content"], "n104")

    def test_stats_counts(self):
        FaultTests.oai(self, FaultTests.OBODY)
        self.call("POST", "/v1/messages", dict(FaultTests.ABODY, stream=True), ANT)
        self.ctl("POST", "/__mock/faults", {"provider": "gemini", "status": 503})
        self.gem("gemini-2.5-flash", FaultTests.GBODY)
        s = self.ctl("GET", "/__mock/stats")
        self.assertEqual(s["requests"]["openai"], 1)
        self.assertEqual(s["requests"]["anthropic"], 1)
        self.assertEqual(s["requests"]["gemini"], 1)
        self.assertEqual(s["providers"]["anthropic"]["streams_completed"], 1)
        self.assertEqual(s["providers"]["gemini"]["status"], {"503": 1})
        self.assertEqual(s["providers"]["gemini"]["faults_injected"], 1)

    def test_http_plumbing(self):
        # chunked request body, Expect: 100-continue, keep-alive reuse
        s = socket.create_connection(("127.0.0.1", MockServer.port), timeout=5)
        data = json.dumps(FaultTests.OBODY).encode()
        head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                "Expect: 100-continue\r\nAuthorization: Bearer %s\r\n\r\n" % KEY)
        s.sendall(head.encode())
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100 Continue"))
        half = len(data) // 2
        s.sendall(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, data[:half], len(data) - half, data[half:]))
        f = s.makefile("rb")
        status = f.readline()
        self.assertIn(b" 200 ", status)
        length = 0
        while True:
            line = f.readline()
            if line == b"\r\n":
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        self.assertIn(b"mock reply to: hello", f.read(length))
        # same connection again
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % KEY.encode())
        self.assertIn(b" 200 ", f.readline())
        s.close()


if __name__ == "__main__":
    unittest.main()
