"""Shared pieces of the mock upstream: response objects, ids, the deterministic
reply planner and small text helpers.  Standard library only."""

import hashlib
import itertools
import json
import os
import time

# --------------------------------------------------------------------------
# Response objects handed from the provider modules to the HTTP core.


class Response:
    """A complete (non-streaming) HTTP response.  `headers` is a pre-encoded
    block of `name: value\r\n` lines (without content-length).

    `regen`, when set, marks the response as replayable for an identical
    request body: a list of (old_id, prefix, width) ids to mint afresh on
    each replay, plus (b'"created":<t>', None, None) for a timestamp."""

    __slots__ = ("status", "headers", "body", "regen")

    def __init__(self, status, headers, body, regen=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.regen = regen

    def replay(self):
        headers, body = self.headers, self.body
        for old, prefix, width in self.regen:
            if prefix is None:
                new = b'"created":%d' % int(time.time())
            else:
                new = next_id(prefix, width).encode()
            headers = headers.replace(old, new)
            body = body.replace(old, new)
        return Response(self.status, headers, body)


class Stream:
    """A streamed response: status + headers, then `events` (each a complete
    SSE event, already framed) written one per HTTP chunk.  `error_event`
    is what a `stream_error_after` fault writes in place of event N; `trailer`
    is written after the last event (e.g. the `]` of Gemini's JSON array
    stream) and is not counted as an event."""

    __slots__ = ("status", "headers", "events", "error_event", "trailer")

    def __init__(self, status, headers, events, error_event, trailer=b""):
        self.status = status
        self.headers = headers
        self.events = events
        self.error_event = error_event
        self.trailer = trailer


def dumps(obj):
    """Compact JSON (what OpenAI and Anthropic send)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def hdr(name, value):
    return b"%s: %s\r\n" % (name.encode("latin-1"), str(value).encode("latin-1"))


# --------------------------------------------------------------------------
# Deterministic ids.  A process-wide counter keeps them unique and stable for
# a given run (the n-th id is always the same string).

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62 = bytes(_ALPHABET[b % 62] for b in range(256))
_counter = itertools.count(1)
# ids are unique across restarts too (a gateway may store upstream ids)
_SEED = b"%d:%d:" % (time.time_ns(), os.getpid())


def next_id(prefix, width=24):
    """prefix + `width` base62 characters from a counter hashed with a
    per-process seed: looks random, never repeats, costs ~1us."""
    digest = hashlib.blake2b(_SEED + b"%d" % next(_counter), digest_size=max(width, 1)).digest()
    return prefix + digest.translate(_B62).decode()[:width]


def now():
    return int(time.time())


# --------------------------------------------------------------------------
# Text helpers.

FILLER = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
          "eiusmod tempor incididunt ut labore et dolore magna aliqua").split()


def words(s):
    return len(s.split()) if s else 0


def snippet(text, n=40):
    """First n characters of the whitespace-normalised text."""
    return " ".join(text.split())[:n]


def split_pieces(text, n):
    """Split `text` into exactly n non-empty pieces whose concatenation is
    `text` (word boundaries when there are enough words, else characters).
    The caller guarantees len(text) >= n (see pad_text)."""
    if not text:
        return []
    n = max(1, min(n, len(text)))
    ws = text.split(" ")
    if len(ws) >= n:
        out = []
        base, extra = divmod(len(ws), n)
        pos = 0
        for i in range(n):
            k = base + (1 if i < extra else 0)
            piece = " ".join(ws[pos:pos + k])
            out.append(piece if i == 0 else " " + piece)
            pos += k
        return out
    base, extra = divmod(len(text), n)
    out = []
    pos = 0
    for i in range(n):
        k = base + (1 if i < extra else 0)
        out.append(text[pos:pos + k])
        pos += k
    return out


def pad_text(text, n):
    """Make text at least n characters long (for chunks=N streams longer than
    the natural reply) by appending filler words."""
    if len(text) >= n:
        return text
    parts = [text] if text else []
    i = 0
    while len(" ".join(parts)) < n:
        parts.append(FILLER[i % len(FILLER)])
        i += 1
    return " ".join(parts)


def split_args(s, n):
    """Split a JSON argument string into up to n fragments (character-wise)."""
    if not s:
        return []
    n = max(1, min(n, len(s)))
    base, extra = divmod(len(s), n)
    out, pos = [], 0
    for i in range(n):
        k = base + (1 if i < extra else 0)
        out.append(s[pos:pos + k])
        pos += k
    return out


# --------------------------------------------------------------------------
# Conversation summary (filled in by each provider module) and the reply plan.


class Conv:
    """What the reply planner needs to know about a request, whatever the
    provider's wire format."""

    __slots__ = ("prompt_words", "last_kind", "last_text", "images", "files",
                 "tool_result_text", "tools", "tool_mode", "forced_tool",
                 "max_tokens", "thinking")

    def __init__(self):
        self.prompt_words = 0
        self.last_kind = "user"        # "user" | "tool_result"
        self.last_text = ""            # text of the last user message
        self.images = 0                # image parts in the last user message
        self.files = 0                 # non-image media/file parts there
        self.tool_result_text = ""     # text of the trailing tool result(s)
        self.tools = []                # declared tool names, in order
        self.tool_mode = "auto"        # "auto" | "none" | "required"
        self.forced_tool = None        # a specific tool name, if forced
        self.max_tokens = None
        self.thinking = False          # request asked for visible thinking


class Plan:
    __slots__ = ("text", "tool_calls", "finish", "prompt_tokens",
                 "completion_tokens", "cached_tokens", "cache_write_tokens",
                 "reasoning_tokens", "thinking_text")

    # finish: "stop" | "length" | "tool"


def plan_reply(conv, fault, preamble=False):
    """Decide what the mock 'model' answers.  Deterministic in the request
    and the fault settings.

    - tool call: tools declared, tool_choice not none, and either the last
      user message contains "call tool" (case-insensitive) or tool_choice
      forces a tool.  "call all tools" calls every declared tool (parallel
      calls).  Arguments are {"query": <first 40 chars of last user text>}.
    - otherwise text: "mock reply to: <first 40 chars>" (+ " (with N
      image(s))"), or "mock reply to tool result: <first 40 chars>" when the
      conversation ends with a tool result.
    """
    p = Plan()
    chunks = fault.get("chunks", 5) if fault else 5
    p.tool_calls = []
    p.thinking_text = None
    lowered = conv.last_text.lower()
    want_tool = bool(conv.tools) and conv.tool_mode != "none" and (
        conv.tool_mode == "required" or conv.forced_tool is not None
        or (conv.last_kind == "user" and "call tool" in lowered)
        or (conv.last_kind == "user" and "call all tools" in lowered))
    if want_tool:
        if conv.forced_tool is not None and conv.forced_tool in conv.tools:
            names = [conv.forced_tool]
        elif "call all tools" in lowered and conv.tool_mode != "required" and conv.forced_tool is None:
            names = list(conv.tools)
        else:
            names = [conv.tools[0]]
        q = snippet(conv.last_text)
        p.tool_calls = [(name, {"query": q}) for name in names]
        p.text = ("I'll call " + names[0] + ".") if preamble else None
        p.finish = "tool"
    else:
        if conv.last_kind == "tool_result":
            text = "mock reply to tool result: " + snippet(conv.tool_result_text)
        else:
            text = "mock reply to: " + snippet(conv.last_text)
            if conv.images:
                text += " (with %d image%s)" % (conv.images, "" if conv.images == 1 else "s")
            if conv.files:
                text += " (with %d file%s)" % (conv.files, "" if conv.files == 1 else "s")
        text = pad_text(text.rstrip(), chunks)
        p.finish = "stop"
        if conv.max_tokens is not None:
            ws = text.split(" ")
            if len(ws) > max(conv.max_tokens, 0):
                text = " ".join(ws[:max(conv.max_tokens, 0)])
                p.finish = "length"
        p.text = text
    if conv.thinking:
        p.thinking_text = "mock thinking about: " + snippet(conv.last_text or conv.tool_result_text)
    completion = words(p.text)
    for name, args in p.tool_calls:
        completion += words(dumps(args)) + 1
    if p.thinking_text:
        completion += words(p.thinking_text)
    completion = max(completion, 1)
    f = fault or {}
    reasoning = max(0, int(f.get("reasoning_tokens", 0)))
    p.prompt_tokens = conv.prompt_words + 3
    p.completion_tokens = completion + reasoning
    p.reasoning_tokens = reasoning
    p.cached_tokens = min(max(0, int(f.get("cached_tokens", 0))), p.prompt_tokens)
    p.cache_write_tokens = min(max(0, int(f.get("cache_write_tokens", 0))),
                               p.prompt_tokens - p.cached_tokens)
    return p


def split_model(raw):
    """`model@k=v,k2=v2` -> (model, "k=v,k2=v2") ; no suffix -> (raw, None)."""
    if not isinstance(raw, str):
        return raw, None
    at = raw.find("@")
    if at < 0:
        return raw, None
    return raw[:at], raw[at + 1:]
