"""Anthropic Messages wire format (POST /v1/messages,
POST /v1/messages/count_tokens, GET /v1/models)."""

import json
import time

from common import (Conv, Response, Stream, dumps, hdr, next_id, plan_reply,
                    snippet, split_args, split_pieces, words)

PROVIDER = "anthropic"

MODELS = [
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-14T00:00:00Z"),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
]

KNOWN_PARAMS = frozenset("""
model max_tokens messages system stop_sequences temperature top_p top_k metadata stream
tools tool_choice thinking output_config service_tier cache_control container inference_geo
mcp_servers context_management
""".split())

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

_RL_OK = (b"anthropic-ratelimit-requests-limit: 4000\r\n"
          b"anthropic-ratelimit-requests-remaining: 3999\r\n"
          b"anthropic-ratelimit-input-tokens-limit: 2000000\r\n"
          b"anthropic-ratelimit-input-tokens-remaining: 2000000\r\n"
          b"anthropic-ratelimit-output-tokens-limit: 400000\r\n"
          b"anthropic-ratelimit-output-tokens-remaining: 400000\r\n"
          b"anthropic-ratelimit-tokens-limit: 2400000\r\n"
          b"anthropic-ratelimit-tokens-remaining: 2400000\r\n")
_OK_STATIC = b"content-type: application/json\r\n" + _RL_OK
_SSE_STATIC = b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n" + _RL_OK
_ERR_STATIC = b"content-type: application/json\r\n"


def _rfc3339(delta_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + delta_s))


def _req_id():
    rid = next_id("req_011C", 20)
    return rid, hdr("request-id", rid)


# --------------------------------------------------------------------------
# errors

def error(status, etype, message, extra=b""):
    rid, h = _req_id()
    base = _ERR_STATIC
    body = dumps({"type": "error", "error": {"type": etype, "message": message}, "request_id": rid})
    return Response(status, base + h + extra, body.encode())


def invalid(message):
    return error(400, "invalid_request_error", message)


def auth_error(req, require_key):
    key = req.headers.get("x-api-key")
    if not key:
        return error(401, "authentication_error", "x-api-key header is required")
    if require_key is not None and key != require_key:
        return error(401, "authentication_error", "invalid x-api-key")
    return None


def precheck(req):
    if not req.headers.get("anthropic-version"):
        return invalid("anthropic-version: header is required")
    return None


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
          403: "permission_error", 404: "not_found_error", 413: "request_too_large",
          429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}


def _fault_body(status, model):
    etype = _TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    message = {
        400: "Invalid request (mock fault).",
        401: "invalid x-api-key",
        402: "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
             "Billing to upgrade or purchase credits.",
        403: "Your API key does not have permission to use the specified resource.",
        404: "model: %s" % model,
        413: "Request exceeds the maximum allowed number of bytes.",
        429: "This request would exceed the rate limit for your organization (mock-org) of 50 "
             "requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. "
             "You can see the response headers for current usage. Please reduce the prompt length "
             "or the maximum tokens requested, or try again later. You may also contact sales at "
             "https://www.anthropic.com/contact-sales to discuss your options for a rate limit "
             "increase.",
        500: "Internal server error",
        504: "Request timed out",
        529: "Overloaded",
    }.get(status, "Internal server error" if status >= 500 else "Mock fault %d." % status)
    return etype, message


def fault_error(status, fault, model):
    etype, message = _fault_body(status, model)
    message = fault.get("message", message)
    extra = b""
    if status == 429:
        ra = fault.get("retry_after", 1)
        reset = _rfc3339(ra)
        extra = (hdr("retry-after", ra)
                 + b"anthropic-ratelimit-requests-limit: 50\r\n"
                 b"anthropic-ratelimit-requests-remaining: 0\r\n"
                 + hdr("anthropic-ratelimit-requests-reset", reset)
                 + b"anthropic-ratelimit-input-tokens-limit: 30000\r\n"
                 b"anthropic-ratelimit-input-tokens-remaining: 0\r\n"
                 + hdr("anthropic-ratelimit-input-tokens-reset", reset)
                 + b"anthropic-ratelimit-output-tokens-limit: 8000\r\n"
                 b"anthropic-ratelimit-output-tokens-remaining: 0\r\n"
                 + hdr("anthropic-ratelimit-output-tokens-reset", reset)
                 + b"anthropic-ratelimit-tokens-limit: 38000\r\n"
                 b"anthropic-ratelimit-tokens-remaining: 0\r\n"
                 + hdr("anthropic-ratelimit-tokens-reset", reset))
    elif "retry_after" in fault:
        extra = hdr("retry-after", fault["retry_after"])
    return error(status, etype, message, extra)


def stream_error_event(fault, model):
    etype, message = _fault_body(fault.get("stream_error_status", 529), model)
    message = fault.get("message", message)
    return ("event: error\ndata: " + dumps({"type": "error", "error": {
        "type": etype, "message": message}}) + "\n\n").encode()


def not_found(req):
    return error(404, "not_found_error", "Not Found")


def bad_json():
    return invalid("There was an error parsing the body of your request")


# --------------------------------------------------------------------------
# request analysis

def _blocks(content):
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def validate(body, strict):
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return invalid("%s: Field required" % field)
    if strict:
        for k in body:
            if k not in KNOWN_PARAMS:
                return invalid("%s: Extra inputs are not permitted" % k)
    if not isinstance(body["model"], str):
        return invalid("model: Input should be a valid string")
    mt = body["max_tokens"]
    if not isinstance(mt, int) or isinstance(mt, bool) or mt < 0:
        return invalid("max_tokens: Input should be a valid integer")
    msgs = body["messages"]
    if not isinstance(msgs, list):
        return invalid("messages: Input should be a valid list")
    model = body["model"]
    if ("sonnet-4-5" in model or "haiku-4-5" in model) and \
            body.get("temperature") is not None and body.get("top_p") is not None:
        return invalid("`temperature` and `top_p` cannot both be specified for this model. "
                       "Please use only one.")
    th = body.get("thinking")
    if isinstance(th, dict) and th.get("type") == "enabled":
        bt = th.get("budget_tokens")
        if not isinstance(bt, int) or bt < 1024:
            return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal "
                           "to 1024")
        if bt >= mt:
            return invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                           "consult our documentation at "
                           "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                           "#max-tokens-and-context-window-size")
    prev_tool_ids = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            return invalid("messages.%d: Input should be a valid dictionary" % i)
        role = m.get("role")
        if role not in ("user", "assistant"):
            return invalid("messages.%d.role: Input should be 'user' or 'assistant'" % i)
        if "content" not in m:
            return invalid("messages.%d.content: Field required" % i)
        content = m["content"]
        if isinstance(content, list) and not content and not (i == len(msgs) - 1 and role == "assistant"):
            return invalid("messages.%d: all messages must have non-empty content except for the "
                           "optional final assistant message" % i)
        blocks = _blocks(content)
        result_ids = []
        tool_ids = []
        for j, b in enumerate(blocks):
            if not isinstance(b, dict):
                return invalid("messages.%d.content.%d: Input should be a valid dictionary" % (i, j))
            t = b.get("type")
            if t == "text":
                if not isinstance(b.get("text"), str) or (b["text"] == "" and not (
                        i == len(msgs) - 1 and role == "assistant")):
                    return invalid("messages: text content blocks must be non-empty")
            elif t == "image":
                src = b.get("source") or {}
                if src.get("type") == "base64" and src.get("media_type") not in IMAGE_TYPES:
                    return invalid("messages.%d.content.%d.image.source.base64.media_type: Input "
                                   "should be 'image/jpeg', 'image/png', 'image/gif' or "
                                   "'image/webp'" % (i, j))
            elif t == "tool_use":
                if role != "assistant":
                    return invalid("messages.%d.content.%d: `tool_use` blocks can only be in "
                                   "`assistant` messages" % (i, j))
                if not isinstance(b.get("input"), dict):
                    return invalid("messages.%d.content.%d.tool_use.input: Input should be a valid "
                                   "dictionary" % (i, j))
                tool_ids.append(b.get("id"))
            elif t == "tool_result":
                if role != "user":
                    return invalid("messages.%d.content.%d: `tool_result` blocks can only be in "
                                   "`user` messages" % (i, j))
                result_ids.append(b.get("tool_use_id"))
        if role == "user":
            missing = [x for x in prev_tool_ids if x not in result_ids]
            if missing:
                return invalid("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                               "immediately after: %s. Each `tool_use` block must have a "
                               "corresponding `tool_result` block in the next message."
                               % (i - 1, ", ".join(str(x) for x in missing)))
            extra = [x for x in result_ids if x not in prev_tool_ids]
            if extra:
                return invalid("messages.%d.content.0: unexpected `tool_use_id` found in "
                               "`tool_result` blocks: %s. Each `tool_result` block must have a "
                               "corresponding `tool_use` block in the previous message."
                               % (i, ", ".join(str(x) for x in extra)))
            prev_tool_ids = []
        else:
            prev_tool_ids = tool_ids
    if prev_tool_ids:
        return invalid("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                       "immediately after: %s. Each `tool_use` block must have a corresponding "
                       "`tool_result` block in the next message."
                       % (len(msgs) - 1, ", ".join(str(x) for x in prev_tool_ids)))
    return None


def _result_text(content):
    if isinstance(content, str):
        return content
    out = []
    for b in content or ():
        if isinstance(b, dict) and b.get("type") == "text":
            out.append(str(b.get("text", "")))
    return " ".join(out)


def analyse(body):
    conv = Conv()
    total = 0
    system = body.get("system")
    if isinstance(system, str):
        total += words(system)
    elif isinstance(system, list):
        for b in system:
            if isinstance(b, dict):
                total += words(str(b.get("text", "")))
    msgs = body["messages"]
    last_user = None
    for m in msgs:
        for b in _blocks(m.get("content")):
            t = b.get("type")
            if t == "text":
                total += words(b.get("text", ""))
            elif t == "tool_use":
                total += words(dumps(b.get("input", {})))
            elif t == "tool_result":
                total += words(_result_text(b.get("content")))
        if m.get("role") == "user":
            last_user = m
    conv.prompt_words = total
    if last_user is not None:
        texts = []
        results = []
        for b in _blocks(last_user.get("content")):
            t = b.get("type")
            if t == "text":
                texts.append(b.get("text", ""))
            elif t == "image":
                conv.images += 1
            elif t == "document":
                conv.files += 1
            elif t == "tool_result":
                results.append(_result_text(b.get("content")))
        conv.last_text = " ".join(texts)
        if results and not conv.last_text.strip():
            conv.last_kind = "tool_result"
            conv.tool_result_text = " ".join(results)
    for t in body.get("tools") or ():
        if isinstance(t, dict) and t.get("name") and t.get("type", "custom") == "custom":
            conv.tools.append(t["name"])
    tc = body.get("tool_choice")
    if isinstance(tc, dict):
        ty = tc.get("type")
        if ty == "none":
            conv.tool_mode = "none"
        elif ty == "any":
            conv.tool_mode = "required"
        elif ty == "tool":
            conv.forced_tool = tc.get("name")
    conv.max_tokens = body["max_tokens"]
    th = body.get("thinking")
    conv.thinking = isinstance(th, dict) and th.get("type") in ("enabled", "adaptive") \
        and th.get("display") != "omitted"
    return conv


_STOP = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}


def _usage(p, output_tokens):
    return {"input_tokens": p.prompt_tokens - p.cached_tokens - p.cache_write_tokens,
            "cache_creation_input_tokens": p.cache_write_tokens,
            "cache_read_input_tokens": p.cached_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": p.cache_write_tokens,
                               "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens,
            "service_tier": "standard"}


def _signature(text):
    import base64
    import hashlib
    return base64.b64encode(b"mocksig" + hashlib.sha256(text.encode()).digest()).decode()


def messages(req, body, model, fault, strict):
    err = validate(body, strict)
    if err is not None:
        return err
    conv = analyse(body)
    if conv.thinking and conv.max_tokens is not None:
        conv.max_tokens = max(conv.max_tokens - words("mock thinking about: " + snippet(
            conv.last_text or conv.tool_result_text)), 0)
    p = plan_reply(conv, fault, preamble=True)
    mid = next_id("msg_01", 22)
    stop = _STOP[p.finish]
    tool_blocks = [{"type": "tool_use", "id": next_id("toolu_01", 22), "name": name, "input": args}
                   for name, args in p.tool_calls]
    rid, rid_h = _req_id()
    if not body.get("stream"):
        content = []
        if p.thinking_text:
            content.append({"type": "thinking", "thinking": p.thinking_text,
                            "signature": _signature(p.thinking_text)})
        if p.text:
            content.append({"type": "text", "text": p.text})
        content.extend(tool_blocks)
        obj = {"id": mid, "type": "message", "role": "assistant", "model": model,
               "content": content, "stop_reason": stop, "stop_sequence": None,
               "usage": _usage(p, p.completion_tokens)}
        regen = [(mid.encode(), "msg_01", 22), (rid.encode(), "req_011C", 20)]
        regen.extend((tb["id"].encode(), "toolu_01", 22) for tb in tool_blocks)
        return Response(200, _OK_STATIC + rid_h, dumps(obj).encode(), regen)

    chunks = fault.get("chunks", 5)
    events = []

    def ev(name, obj):
        events.append(("event: %s\ndata: %s\n\n" % (name, dumps(obj))).encode())

    start = {"id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": _usage(p, 1)}
    ev("message_start", {"type": "message_start", "message": start})
    index = 0
    pinged = False

    def ping():
        nonlocal pinged
        if not pinged:
            pinged = True
            ev("ping", {"type": "ping"})

    if p.thinking_text:
        ev("content_block_start", {"type": "content_block_start", "index": index,
                                   "content_block": {"type": "thinking", "thinking": "",
                                                     "signature": ""}})
        ping()
        for piece in split_pieces(p.thinking_text, chunks):
            ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                       "delta": {"type": "thinking_delta", "thinking": piece}})
        ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                   "delta": {"type": "signature_delta",
                                             "signature": _signature(p.thinking_text)}})
        ev("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    if p.text:
        ev("content_block_start", {"type": "content_block_start", "index": index,
                                   "content_block": {"type": "text", "text": ""}})
        ping()
        for piece in split_pieces(p.text, chunks if not tool_blocks else 1):
            ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                       "delta": {"type": "text_delta", "text": piece}})
        ev("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    for tb in tool_blocks:
        ev("content_block_start", {"type": "content_block_start", "index": index,
                                   "content_block": {"type": "tool_use", "id": tb["id"],
                                                     "name": tb["name"], "input": {}}})
        ping()
        frags = [""] + split_args(json.dumps(tb["input"], ensure_ascii=False), chunks)
        for frag in frags:
            ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                       "delta": {"type": "input_json_delta", "partial_json": frag}})
        ev("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    ping()
    ev("message_delta", {"type": "message_delta",
                         "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": p.completion_tokens}})
    ev("message_stop", {"type": "message_stop"})
    return Stream(200, _SSE_STATIC + rid_h, events, stream_error_event(fault, model))


def count_tokens(req, body, model, fault, strict):
    if "model" not in body:
        return invalid("model: Field required")
    if "messages" not in body or not isinstance(body["messages"], list):
        return invalid("messages: Field required")
    body = dict(body, max_tokens=1)
    conv = analyse(body)
    rid, h = _req_id()
    return Response(200, _OK_STATIC + h, dumps({"input_tokens": conv.prompt_words + 3}).encode())


# --------------------------------------------------------------------------
# models

def _model_info(m, name, created):
    return {"type": "model", "id": m, "display_name": name, "created_at": created}


def list_models():
    data = [_model_info(*m) for m in MODELS]
    rid, h = _req_id()
    return Response(200, _OK_STATIC + h, dumps({"data": data, "has_more": False,
                                                "first_id": data[0]["id"],
                                                "last_id": data[-1]["id"]}).encode())


def get_model(model_id):
    for m in MODELS:
        if m[0] == model_id:
            rid, h = _req_id()
            return Response(200, _OK_STATIC + h, dumps(_model_info(*m)).encode())
    return error(404, "not_found_error", "model: %s" % model_id)
