"""OpenAI Chat Completions wire format (POST /v1/chat/completions,
GET /v1/models, POST /v1/embeddings)."""

import hashlib
import struct

from common import (Conv, Response, Stream, dumps, hdr, next_id, now,
                    plan_reply, split_args, split_pieces, words)

PROVIDER = "openai"
FINGERPRINT = "fp_mock0001"

MODELS = [
    ("gpt-4o", 1715367049), ("gpt-4o-mini", 1721172741), ("gpt-4.1", 1744316542),
    ("gpt-4.1-mini", 1744318173), ("gpt-5", 1754425777), ("gpt-5-mini", 1754425928),
    ("o3", 1744225308), ("o4-mini", 1744225351), ("text-embedding-3-small", 1705948997),
    ("text-embedding-3-large", 1705953180),
]

KNOWN_PARAMS = frozenset("""
model messages temperature top_p max_tokens max_completion_tokens stop n seed user
safety_identifier prompt_cache_key prompt_cache_retention stream stream_options logprobs
top_logprobs tools tool_choice parallel_tool_calls response_format frequency_penalty
presence_penalty logit_bias reasoning_effort verbosity service_tier metadata store
modalities audio prediction web_search_options functions function_call
""".split())

ROLES = ("system", "assistant", "user", "function", "tool", "developer")

_OK_STATIC = (b"content-type: application/json\r\n"
              b"openai-version: 2020-10-01\r\n"
              b"openai-organization: org-mock\r\n"
              b"openai-processing-ms: 1\r\n"
              b"x-ratelimit-limit-requests: 10000\r\n"
              b"x-ratelimit-remaining-requests: 9999\r\n"
              b"x-ratelimit-reset-requests: 6ms\r\n"
              b"x-ratelimit-limit-tokens: 30000000\r\n"
              b"x-ratelimit-remaining-tokens: 29999000\r\n"
              b"x-ratelimit-reset-tokens: 2ms\r\n")
_SSE_STATIC = _OK_STATIC.replace(b"content-type: application/json\r\n",
                                 b"content-type: text/event-stream; charset=utf-8\r\n"
                                 b"cache-control: no-cache\r\n")
_ERR_STATIC = b"content-type: application/json; charset=utf-8\r\n" b"openai-version: 2020-10-01\r\n"


def _req_id(rid=None):
    return hdr("x-request-id", rid or next_id("req_", 32))


# --------------------------------------------------------------------------
# errors

def error(status, message, etype, param=None, code=None, extra=b""):
    body = dumps({"error": {"message": message, "type": etype, "param": param, "code": code}})
    return Response(status, _ERR_STATIC + _req_id() + extra, (body + "\n").encode())


def mask_key(key):
    if len(key) <= 8:
        return key[:2] + "*" * max(0, len(key) - 2)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def auth_error(req, require_key):
    auth = req.headers.get("authorization", "")
    if auth[:7].lower() != "bearer " or not auth[7:].strip():
        return error(401, "You didn't provide an API key. You need to provide your API key in an "
                     "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                     "or as the password field (with blank username) if you're accessing the API "
                     "from your browser and are prompted for a username and password. You can "
                     "obtain an API key from https://platform.openai.com/account/api-keys.",
                     "invalid_request_error")
    key = auth[7:].strip()
    if require_key is not None and key != require_key:
        return error(401, "Incorrect API key provided: %s. You can find your API key at "
                     "https://platform.openai.com/account/api-keys." % mask_key(key),
                     "invalid_request_error", None, "invalid_api_key")
    return None


def _ratelimit_429(retry_after):
    return (b"x-ratelimit-limit-requests: 500\r\n"
            b"x-ratelimit-remaining-requests: 0\r\n"
            + hdr("x-ratelimit-reset-requests", "%ds" % retry_after)
            + b"x-ratelimit-limit-tokens: 30000\r\n"
            b"x-ratelimit-remaining-tokens: 0\r\n"
            + hdr("x-ratelimit-reset-tokens", "%ds" % retry_after)
            + hdr("retry-after", retry_after))


def _fault_body(status, fault, model):
    """(message, type, code) for an injected status."""
    if status == 429 and fault.get("quota"):
        return ("You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota", "insufficient_quota")
    ra = fault.get("retry_after", 1)
    table = {
        400: ("Invalid request (mock fault).", "invalid_request_error", None),
        401: ("Incorrect API key provided: sk-mo****mock. You can find your API key at "
              "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
        403: ("Country, region, or territory not supported", "request_forbidden",
              "unsupported_country_region_territory"),
        404: ("The model `%s` does not exist or you do not have access to it." % model,
              "invalid_request_error", "model_not_found"),
        429: ("Rate limit reached for %s in organization org-mock on requests per min (RPM): "
              "Limit 500, Used 500, Requested 1. Please try again in %ds. Visit "
              "https://platform.openai.com/account/rate-limits to learn more." % (model, ra),
              "requests", "rate_limit_exceeded"),
        500: ("The server had an error while processing your request. Sorry about that!",
              "server_error", None),
        502: ("Bad gateway.", "server_error", None),
        503: ("That model is currently overloaded with other requests. You can retry your request, "
              "or contact us through our help center at help.openai.com if the error persists.",
              "server_error", None),
        504: ("Gateway timeout.", "server_error", "timeout"),
    }
    if status in table:
        return table[status]
    if status >= 500:
        return ("The server had an error while processing your request. Sorry about that!",
                "server_error", None)
    return ("Mock fault %d." % status, "invalid_request_error", None)


def fault_error(status, fault, model):
    message, etype, code = _fault_body(status, fault, model)
    if "message" in fault:
        message = fault["message"]
    extra = b""
    if status == 429 and not fault.get("quota"):
        extra = _ratelimit_429(fault.get("retry_after", 1))
    elif "retry_after" in fault:
        extra = hdr("retry-after", fault["retry_after"])
    return error(status, message, etype, None, code, extra)


def stream_error_event(fault, model):
    status = fault.get("stream_error_status", 500)
    message, etype, code = _fault_body(status, fault, model)
    if "message" in fault:
        message = fault["message"]
    return ("data: " + dumps({"error": {"message": message, "type": etype,
                                        "param": None, "code": code}}) + "\n\n").encode()


def not_found(req):
    return error(404, "Invalid URL (%s %s)" % (req.method, req.path), "invalid_request_error")


def bad_json():
    return error(400, "We could not parse the JSON body of your request. (HINT: This likely means "
                 "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                 "payload, but what was sent was not valid JSON. If you have trouble figuring out "
                 "how to fix this, please contact us through our help center at help.openai.com.)",
                 "invalid_request_error")


# --------------------------------------------------------------------------
# request analysis

def _text_of(content):
    """(text, images, files) of an OpenAI message content."""
    if content is None:
        return "", 0, 0
    if isinstance(content, str):
        return content, 0, 0
    texts, images, files = [], 0, 0
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            t = part.get("type")
            if t in ("text", "refusal"):
                texts.append(str(part.get(t) or ""))
            elif t == "image_url":
                images += 1
            elif t in ("input_audio", "file"):
                files += 1
    return " ".join(texts), images, files


def validate(body, strict):
    """Return an error Response for requests the real API rejects, else None."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return error(400, "you must provide a model parameter", "invalid_request_error")
    if "messages" not in body:
        return error(400, "Missing required parameter: 'messages'.", "invalid_request_error",
                     "messages", "missing_required_parameter")
    msgs = body["messages"]
    if not isinstance(msgs, list):
        return error(400, "Invalid type for 'messages': expected an array of objects, but got %s "
                     "instead." % type(msgs).__name__, "invalid_request_error", "messages",
                     "invalid_type")
    if not msgs:
        return error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                     "but got an empty array instead.", "invalid_request_error", "messages",
                     "empty_array")
    if strict:
        for k in body:
            if k not in KNOWN_PARAMS:
                return error(400, "Unrecognized request argument supplied: %s" % k,
                             "invalid_request_error")
    so = body.get("stream_options")
    if so is not None and not body.get("stream"):
        return error(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                     "invalid_request_error", "stream_options")
    base = model.split("/")[-1]
    reasoning_model = base.startswith(("o1", "o3", "o4", "gpt-5"))
    if reasoning_model and body.get("max_tokens") is not None:
        return error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                     "Use 'max_completion_tokens' instead.", "invalid_request_error",
                     "max_tokens", "unsupported_parameter")
    if reasoning_model and body.get("temperature") not in (None, 1, 1.0):
        return error(400, "Unsupported value: 'temperature' does not support %s with this model. "
                     "Only the default (1) value is supported." % body.get("temperature"),
                     "invalid_request_error", "temperature", "unsupported_value")
    pending = []      # tool_call ids awaiting a tool message
    pending_at = 0
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            return error(400, "Invalid type for 'messages[%d]': expected an object, but got %s "
                         "instead." % (i, type(m).__name__), "invalid_request_error",
                         "messages[%d]" % i, "invalid_type")
        role = m.get("role")
        if role not in ROLES:
            return error(400, "Invalid value: '%s'. Supported values are: 'system', 'assistant', "
                         "'user', 'function', 'tool', and 'developer'." % role,
                         "invalid_request_error", "messages[%d].role" % i, "invalid_value")
        if role == "tool":
            if "tool_call_id" not in m:
                return error(400, "Missing required parameter: 'messages[%d].tool_call_id'." % i,
                             "invalid_request_error", "messages[%d].tool_call_id" % i,
                             "missing_required_parameter")
            if m["tool_call_id"] in pending:
                pending.remove(m["tool_call_id"])
                continue
            return error(400, "Invalid parameter: messages with role 'tool' must be a response to a "
                         "preceeding message with 'tool_calls'.", "invalid_request_error",
                         "messages.[%d].role" % i)
        if pending:
            return error(400, "An assistant message with 'tool_calls' must be followed by tool "
                         "messages responding to each 'tool_call_id'. The following tool_call_ids "
                         "did not have response messages: %s" % ", ".join(pending),
                         "invalid_request_error", "messages.[%d].role" % pending_at)
        if role == "assistant" and m.get("tool_calls"):
            tcs = m["tool_calls"]
            if isinstance(tcs, list):
                pending = [tc.get("id") for tc in tcs if isinstance(tc, dict)]
                pending_at = i
    if pending:
        return error(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                     "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                     "response messages: %s" % ", ".join(str(p) for p in pending),
                     "invalid_request_error", "messages.[%d].role" % pending_at)
    return None


def analyse(body):
    conv = Conv()
    msgs = body["messages"]
    total = 0
    for m in msgs:
        text, _, _ = _text_of(m.get("content"))
        total += words(text)
        for tc in m.get("tool_calls") or ():
            if isinstance(tc, dict):
                total += words(str((tc.get("function") or {}).get("arguments", "")))
    conv.prompt_words = total
    last = msgs[-1]
    if last.get("role") == "tool":
        conv.last_kind = "tool_result"
        trail = []
        for m in reversed(msgs):
            if m.get("role") != "tool":
                break
            trail.append(_text_of(m.get("content"))[0])
        conv.tool_result_text = " ".join(reversed(trail))
    for m in reversed(msgs):
        if m.get("role") == "user":
            conv.last_text, conv.images, conv.files = _text_of(m.get("content"))
            break
    tools = body.get("tools") or []
    for t in tools:
        if isinstance(t, dict) and t.get("type", "function") == "function":
            name = (t.get("function") or {}).get("name")
            if name:
                conv.tools.append(name)
    tc = body.get("tool_choice")
    if tc == "none":
        conv.tool_mode = "none"
    elif tc == "required":
        conv.tool_mode = "required"
    elif isinstance(tc, dict):
        if tc.get("type") == "function":
            conv.forced_tool = (tc.get("function") or {}).get("name")
        elif tc.get("type") == "allowed_tools":
            at = tc.get("allowed_tools") or {}
            if at.get("mode") == "required":
                conv.tool_mode = "required"
    mt = body.get("max_completion_tokens")
    if mt is None:
        mt = body.get("max_tokens")
    if isinstance(mt, int):
        conv.max_tokens = mt
    return conv


def _usage(p):
    return {"prompt_tokens": p.prompt_tokens,
            "completion_tokens": p.completion_tokens,
            "total_tokens": p.prompt_tokens + p.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": p.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": p.reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


_FINISH = {"stop": "stop", "length": "length", "tool": "tool_calls"}

_TEXT_TEMPLATE = (
    '{"id":"%s","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,'
    '"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},'
    '"logprobs":null,"finish_reason":"%s"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,'
    '"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d,"audio_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":%d,"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},'
    '"service_tier":"default","system_fingerprint":"' + FINGERPRINT + '"}')


def chat(req, body, model, fault, strict):
    err = validate(body, strict)
    if err is not None:
        return err
    conv = analyse(body)
    p = plan_reply(conv, fault)
    n = body.get("n") or 1
    if not isinstance(n, int) or n < 1 or n > 128:
        return error(400, "%s is not valid under any of the given schemas - 'n'" % n,
                     "invalid_request_error", "n")
    if n > 1:                       # every choice is billed
        p.completion_tokens *= n
        p.reasoning_tokens *= n
    cid = next_id("chatcmpl-", 29)
    created = now()
    finish = _FINISH[p.finish]
    calls = [{"id": next_id("call_", 24), "type": "function",
              "function": {"name": name, "arguments": dumps(args)}}
             for name, args in p.tool_calls]
    if not body.get("stream"):
        rid = next_id("req_", 32)
        regen = [(cid.encode(), "chatcmpl-", 29), (rid.encode(), "req_", 32),
                 (b'"created":%d' % created, None, None)]
        if n == 1 and not calls:
            # hot path: same bytes as dumps(obj) below, without building the object
            data = _TEXT_TEMPLATE % (cid, created, dumps(model), dumps(p.text), finish,
                                     p.prompt_tokens, p.completion_tokens,
                                     p.prompt_tokens + p.completion_tokens, p.cached_tokens,
                                     p.reasoning_tokens)
            return Response(200, _OK_STATIC + _req_id(rid), data.encode(), regen)
        message = {"role": "assistant", "content": p.text, "refusal": None, "annotations": []}
        if calls:
            message["tool_calls"] = calls
        obj = {"id": cid, "object": "chat.completion", "created": created, "model": model,
               "choices": [{"index": i, "message": message, "logprobs": None,
                            "finish_reason": finish} for i in range(n)],
               "usage": _usage(p), "service_tier": "default",
               "system_fingerprint": FINGERPRINT}
        regen.extend((c["id"].encode(), "call_", 24) for c in calls)
        return Response(200, _OK_STATIC + _req_id(rid), dumps(obj).encode(), regen)

    so = body.get("stream_options") or {}
    include_usage = bool(so.get("include_usage"))
    obfuscate = so.get("include_obfuscation", True) is not False
    chunks = fault.get("chunks", 5)
    head = '{"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,' \
           '"service_tier":"default","system_fingerprint":"%s","choices":' % (
               cid, created, dumps(model), FINGERPRINT)
    tail_usage = ',"usage":null' if include_usage else ''
    events = []
    seq = [0]

    def ev(choices_json):
        seq[0] += 1
        s = head + choices_json + tail_usage
        if obfuscate:
            s += ',"obfuscation":"%s"' % ("mock0000"[:1 + seq[0] % 8])
        events.append(("data: " + s + "}\n\n").encode())

    def choice(i, delta, fin=None):
        return '{"index":%d,"delta":%s,"logprobs":null,"finish_reason":%s}' % (
            i, dumps(delta), dumps(fin))

    if calls:
        for i in range(n):
            first = calls[0]
            ev("[" + choice(i, {"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": first["id"], "type": "function",
                 "function": {"name": first["function"]["name"], "arguments": ""}}],
                "refusal": None}) + "]")
        for k, c in enumerate(calls):
            if k > 0:
                for i in range(n):
                    ev("[" + choice(i, {"tool_calls": [
                        {"index": k, "id": c["id"], "type": "function",
                         "function": {"name": c["function"]["name"], "arguments": ""}}]}) + "]")
            for frag in split_args(c["function"]["arguments"], chunks):
                for i in range(n):
                    ev("[" + choice(i, {"tool_calls": [{"index": k, "function": {
                        "arguments": frag}}]}) + "]")
    else:
        for i in range(n):
            ev("[" + choice(i, {"role": "assistant", "content": "", "refusal": None}) + "]")
        for piece in split_pieces(p.text, chunks):
            for i in range(n):
                ev("[" + choice(i, {"content": piece}) + "]")
    for i in range(n):
        ev("[" + choice(i, {}, finish) + "]")
    if include_usage:
        s = head + "[]" + ',"usage":' + dumps(_usage(p))
        if obfuscate:
            s += ',"obfuscation":"mock"'
        events.append(("data: " + s + "}\n\n").encode())
    events.append(b"data: [DONE]\n\n")
    return Stream(200, _SSE_STATIC + _req_id(), events, stream_error_event(fault, model))


# --------------------------------------------------------------------------
# models, embeddings

def list_models():
    data = [{"id": m, "object": "model", "created": c, "owned_by": "system"} for m, c in MODELS]
    return Response(200, _OK_STATIC + _req_id(), dumps({"object": "list", "data": data}).encode())


def get_model(model_id):
    for m, c in MODELS:
        if m == model_id:
            return Response(200, _OK_STATIC + _req_id(), dumps(
                {"id": m, "object": "model", "created": c, "owned_by": "system"}).encode())
    return error(404, "The model '%s' does not exist" % model_id, "invalid_request_error",
                 "model", "model_not_found")


def _vector(text, dims):
    out = []
    seed = hashlib.sha256(text.encode()).digest()
    i = 0
    while len(out) < dims:
        block = hashlib.sha256(seed + struct.pack("<I", i)).digest()
        for j in range(0, 32, 4):
            v = struct.unpack("<I", block[j:j + 4])[0] / 4294967295.0 * 2 - 1
            out.append(round(v * 0.05, 6))
        i += 1
    return out[:dims]


def embeddings(req, body, model, fault, strict):
    if not isinstance(body.get("model"), str):
        return error(400, "you must provide a model parameter", "invalid_request_error")
    inp = body.get("input")
    if inp is None:
        return error(400, "Missing required parameter: 'input'.", "invalid_request_error",
                     "input", "missing_required_parameter")
    items = [inp] if isinstance(inp, str) else inp
    if not isinstance(items, list) or not items:
        return error(400, "'input' : input must be a string or an array of strings",
                     "invalid_request_error", "input")
    dims = body.get("dimensions") or (3072 if "large" in model else 1536)
    data, total = [], 0
    for i, it in enumerate(items):
        s = it if isinstance(it, str) else dumps(it)
        total += max(1, words(s))
        data.append({"object": "embedding", "index": i, "embedding": _vector(s, dims)})
    obj = {"object": "list", "data": data, "model": model,
           "usage": {"prompt_tokens": total, "total_tokens": total}}
    return Response(200, _OK_STATIC + _req_id(), dumps(obj).encode())
