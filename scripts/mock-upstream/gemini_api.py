"""Gemini (Generative Language API v1beta) wire format:
POST /v1beta/models/{model}:generateContent
POST /v1beta/models/{model}:streamGenerateContent[?alt=sse]
POST /v1beta/models/{model}:countTokens
GET  /v1beta/models[/{model}]"""

import base64
import hashlib
import json

from common import (Conv, Response, Stream, hdr, next_id, plan_reply,
                    split_pieces, words)

PROVIDER = "gemini"

MODELS = [
    ("gemini-2.5-pro", "Gemini 2.5 Pro", 1048576, 65536),
    ("gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536),
    ("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1048576, 65536),
    ("gemini-2.0-flash", "Gemini 2.0 Flash", 1048576, 8192),
    ("gemini-3-pro-preview", "Gemini 3 Pro Preview", 1048576, 65536),
]

KNOWN_FIELDS = frozenset("""
contents systemInstruction system_instruction tools toolConfig tool_config safetySettings
safety_settings generationConfig generation_config cachedContent cached_content model
""".split())

_COMMON = (b"vary: Origin\r\nvary: X-Origin\r\nvary: Referer\r\n"
           b"server: scaffolding on HTTPServer2\r\n"
           b"x-xss-protection: 0\r\nx-frame-options: SAMEORIGIN\r\n"
           b"x-content-type-options: nosniff\r\n")
_JSON = b"content-type: application/json; charset=UTF-8\r\n" + _COMMON
_SSE = b"content-type: text/event-stream\r\n" + _COMMON

SSE_SEP = b"\r\n\r\n"     # Gemini terminates each SSE event with CRLF CRLF


def pretty(obj):
    """Gemini's REST JSON is pretty-printed with 2-space indents."""
    return json.dumps(obj, indent=2, ensure_ascii=False)


def sse_json(obj):
    """Gemini's SSE payloads are one line, `": "` after keys, `,` without a space."""
    return json.dumps(obj, separators=(",", ": "), ensure_ascii=False)


def _timing():
    return b"server-timing: gfet4t7; dur=1\r\n"


# --------------------------------------------------------------------------
# errors (google.rpc.Status)

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ABORTED", 412: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _status_obj(code, message, status=None, details=None):
    err = {"code": code, "message": message,
           "status": status or STATUS_NAMES.get(code, "UNKNOWN" if code >= 500 else "INVALID_ARGUMENT")}
    if details:
        err["details"] = details
    return {"error": err}


def error(code, message, status=None, details=None, extra=b""):
    body = pretty(_status_obj(code, message, status, details)) + "\n"
    return Response(code, _JSON + extra, body.encode())


def invalid(message, details=None):
    return error(400, message, "INVALID_ARGUMENT", details)


def auth_error(req, require_key):
    key = req.headers.get("x-goog-api-key") or req.query.get("key")
    if not key:
        if req.headers.get("authorization"):
            return error(401, "Request had invalid authentication credentials. Expected OAuth 2 "
                         "access token, login cookie or other valid authentication credential. See "
                         "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                         "UNAUTHENTICATED")
        return error(403, "Method doesn't allow unregistered callers (callers without established "
                     "identity). Please use API Key or other form of API consumer identity to "
                     "call this API.", "PERMISSION_DENIED")
    if require_key is not None and key != require_key:
        msg = "API key not valid. Please pass a valid API key."
        return error(400, msg, "INVALID_ARGUMENT", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": msg}])
    return None


def _fault_status(status, fault, model):
    ra = fault.get("retry_after", 1)
    details = None
    if status == 429:
        message = ("You exceeded your current quota, please check your plan and billing details. "
                   "For more information on this error, head to: "
                   "https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current "
                   "usage, head to: https://ai.dev/usage?tab=rate-limit.")
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                                            "generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                             "quotaDimensions": {"location": "global", "model": model},
                             "quotaValue": "10"}]},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "%ds" % ra}]
    else:
        message = {
            400: "Request contains an invalid argument.",
            401: "Request had invalid authentication credentials.",
            403: "The caller does not have permission",
            404: "models/%s is not found for API version v1beta, or is not supported for "
                 "generateContent. Call ListModels to see the list of available models and their "
                 "supported methods." % model,
            500: "An internal error has occurred. Please retry or report in "
                 "https://developers.generativeai.google/guide/troubleshooting",
            503: "The model is overloaded. Please try again later.",
            504: "Deadline expired before operation could complete.",
        }.get(status, "Mock fault %d." % status)
    return fault.get("message", message), details


def fault_error(status, fault, model):
    message, details = _fault_status(status, fault, model)
    # Gemini sends no retry-after / x-ratelimit headers: the hint is RetryInfo.retryDelay
    # in the body.  A retry_after given for another status still becomes a header.
    extra = hdr("retry-after", fault["retry_after"]) if ("retry_after" in fault and status != 429) else b""
    return error(status, message, None, details, extra)


def stream_error_event(fault, model, sse=True):
    status = fault.get("stream_error_status", 503)
    message, details = _fault_status(status, fault, model)
    obj = _status_obj(status, message, None, details)
    if sse:
        return b"data: " + sse_json(obj).encode() + SSE_SEP
    return b"\n,\r\n" + pretty(obj).encode()


def not_found(req):
    return error(404, "Method not found.", "NOT_FOUND")


def bad_json(detail="Invalid JSON payload received."):
    return invalid(detail)


# --------------------------------------------------------------------------
# request analysis

def _g(d, camel, snake):
    v = d.get(camel)
    return d.get(snake) if v is None else v


def validate(body, model, strict):
    if strict:
        for k in body:
            if k not in KNOWN_FIELDS:
                msg = 'Invalid JSON payload received. Unknown name "%s": Cannot find field.' % k
                return invalid(msg, [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                      "fieldViolations": [{"description": msg}]}])
    contents = body.get("contents")
    if not contents:
        return invalid("* GenerateContentRequest.contents: contents is not specified\n")
    if not isinstance(contents, list):
        return invalid('Invalid JSON payload received. Unknown name "contents": Proto field is not '
                       'repeating, cannot start list.')
    needs_signature = model.startswith("gemini-3")
    pending_calls = 0
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            return invalid("Invalid JSON payload received. Expected an object for contents[%d]." % i)
        role = c.get("role", "user")
        if role not in ("user", "model", "function", ""):
            return invalid("Please use a valid role: user, model.")
        parts = c.get("parts")
        if not parts:
            return invalid("* GenerateContentRequest.contents[%d].parts: contents.parts must not be "
                           "empty.\n" % i)
        calls = 0
        responses = 0
        for j, part in enumerate(parts):
            if not isinstance(part, dict):
                return invalid("Invalid JSON payload received. Expected an object for "
                               "contents[%d].parts[%d]." % (i, j))
            fc = _g(part, "functionCall", "function_call")
            if fc is not None:
                calls += 1
                if needs_signature and not _g(part, "thoughtSignature", "thought_signature") \
                        and calls == 1:
                    return invalid("Function call is missing a thought_signature in functionCall "
                                   "parts. This is required for tools to work correctly, and "
                                   "missing thought_signature may lead to degraded model "
                                   "performance. Additional data, function call `default_api:%s` , "
                                   "position %d. Please refer to "
                                   "https://ai.google.dev/gemini-api/docs/thought-signatures for "
                                   "more details." % (fc.get("name"), i + 1))
            if _g(part, "functionResponse", "function_response") is not None:
                responses += 1
        if pending_calls and responses != pending_calls:
            return invalid("Please ensure that the number of function response parts is equal to "
                           "the number of function call parts of the function call turn.")
        pending_calls = calls if role == "model" else 0
    return None


def analyse(body):
    conv = Conv()
    total = 0
    si = _g(body, "systemInstruction", "system_instruction")
    if isinstance(si, dict):
        for part in si.get("parts") or ():
            if isinstance(part, dict):
                total += words(str(part.get("text", "")))
    elif isinstance(si, str):
        total += words(si)
    contents = body["contents"]
    for c in contents:
        for part in c.get("parts") or ():
            if "text" in part:
                total += words(str(part["text"]))
            fc = _g(part, "functionCall", "function_call")
            if fc is not None:
                total += words(json.dumps(fc.get("args", {})))
            fr = _g(part, "functionResponse", "function_response")
            if fr is not None:
                total += words(json.dumps(fr.get("response", {})))
    conv.prompt_words = total
    last = contents[-1]
    results = [json.dumps(_g(p, "functionResponse", "function_response").get("response", {}),
                          separators=(",", ":"))
               for p in last.get("parts") or ()
               if isinstance(_g(p, "functionResponse", "function_response"), dict)]
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            texts = []
            for part in c.get("parts") or ():
                if "text" in part:
                    texts.append(str(part["text"]))
                blob = _g(part, "inlineData", "inline_data") or _g(part, "fileData", "file_data")
                if isinstance(blob, dict):
                    mime = _g(blob, "mimeType", "mime_type") or ""
                    if mime.startswith("image/"):
                        conv.images += 1
                    else:
                        conv.files += 1
            conv.last_text = " ".join(texts)
            break
    if results and not conv.last_text.strip():
        conv.last_kind = "tool_result"
        conv.tool_result_text = " ".join(results)
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            for fd in _g(tool, "functionDeclarations", "function_declarations") or ():
                if isinstance(fd, dict) and fd.get("name"):
                    conv.tools.append(fd["name"])
    tc = _g(body, "toolConfig", "tool_config") or {}
    fcc = _g(tc, "functionCallingConfig", "function_calling_config") or {}
    mode = str(fcc.get("mode", "AUTO")).upper()
    if mode == "NONE":
        conv.tool_mode = "none"
    elif mode == "ANY":
        allowed = _g(fcc, "allowedFunctionNames", "allowed_function_names") or []
        if allowed:
            conv.forced_tool = allowed[0]
        else:
            conv.tool_mode = "required"
    gc = _g(body, "generationConfig", "generation_config") or {}
    mt = _g(gc, "maxOutputTokens", "max_output_tokens")
    if isinstance(mt, int):
        conv.max_tokens = mt
    tcfg = _g(gc, "thinkingConfig", "thinking_config") or {}
    conv.thinking = bool(_g(tcfg, "includeThoughts", "include_thoughts"))
    return conv


def _signature(name):
    return base64.b64encode(b"mock-thought-signature:" + hashlib.sha256(name.encode()).digest()[:24]).decode()


def _usage(p, final=True):
    thoughts = p.reasoning_tokens + (words(p.thinking_text) if p.thinking_text else 0)
    cand = p.completion_tokens - thoughts
    u = {"promptTokenCount": p.prompt_tokens}
    if final:
        u["candidatesTokenCount"] = cand
        u["totalTokenCount"] = p.prompt_tokens + cand + thoughts
    else:
        u["totalTokenCount"] = p.prompt_tokens
    if p.cached_tokens:
        u["cachedContentTokenCount"] = p.cached_tokens
    u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": p.prompt_tokens}]
    if p.cached_tokens:
        u["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": p.cached_tokens}]
    if final and thoughts:
        u["thoughtsTokenCount"] = thoughts
    return u


_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool": "STOP"}


def generate(req, body, model, fault, strict, stream, sse):
    err = validate(body, model, strict)
    if err is not None:
        return err
    conv = analyse(body)
    p = plan_reply(conv, fault)
    rid = next_id("", 22)
    finish = _FINISH[p.finish]
    signed = "2.5" in model or model.startswith("gemini-3")
    call_parts = []
    for name, args in p.tool_calls:
        part = {"functionCall": {"name": name, "args": args}}
        if signed:
            part["thoughtSignature"] = _signature(name)
        call_parts.append(part)
    thought_part = {"text": p.thinking_text, "thought": True} if p.thinking_text else None
    timing = _timing()
    if not stream:
        parts = []
        if thought_part:
            parts.append(thought_part)
        if p.text:
            parts.append({"text": p.text})
        parts.extend(call_parts)
        gc = _g(body, "generationConfig", "generation_config") or {}
        n = _g(gc, "candidateCount", "candidate_count") or 1
        obj = {"candidates": [{"content": {"parts": parts, "role": "model"},
                               "finishReason": finish, "index": i} for i in range(n)],
               "usageMetadata": _usage(p), "modelVersion": model, "responseId": rid}
        return Response(200, _JSON + timing, (pretty(obj) + "\n").encode(),
                        [(rid.encode(), "", 22)])

    chunks = fault.get("chunks", 5)
    objs = []

    def chunk(parts, last):
        cand = {"content": {"parts": parts, "role": "model"}}
        if last:
            cand["finishReason"] = finish
        cand["index"] = 0
        objs.append({"candidates": [cand], "usageMetadata": _usage(p, final=last),
                     "modelVersion": model, "responseId": rid})

    if thought_part:
        chunk([thought_part], False)
    if call_parts:
        chunk(call_parts, True)
    else:
        pieces = split_pieces(p.text, chunks) or [""]
        for k, piece in enumerate(pieces):
            chunk([{"text": piece}], k == len(pieces) - 1)
    if sse:
        events = [b"data: " + sse_json(o).encode() + SSE_SEP for o in objs]
        return Stream(200, _SSE + timing, events, stream_error_event(fault, model, True))
    events = [("[" if k == 0 else "\n,\r\n").encode() + pretty(o).encode() for k, o in enumerate(objs)]
    return Stream(200, _JSON + timing, events, stream_error_event(fault, model, False), b"\n]")


def count_tokens(req, body, model, fault, strict):
    inner = body.get("generateContentRequest") or body.get("generate_content_request")
    src = inner if isinstance(inner, dict) else body
    if not src.get("contents"):
        return invalid("* CountTokensRequest.contents: contents is not specified\n")
    conv = analyse(src)
    n = conv.prompt_words + 3
    return Response(200, _JSON, (pretty({"totalTokens": n, "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": n}]}) + "\n").encode())


# --------------------------------------------------------------------------
# models

def _model_info(m, name, inp, out):
    return {"name": "models/" + m, "version": "001", "displayName": name,
            "description": name + " (mock)", "inputTokenLimit": inp, "outputTokenLimit": out,
            "supportedGenerationMethods": ["generateContent", "countTokens",
                                           "createCachedContent", "batchGenerateContent"],
            "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2,
            "thinking": m.startswith(("gemini-2.5", "gemini-3"))}


def list_models():
    return Response(200, _JSON, (pretty({"models": [_model_info(*m) for m in MODELS]}) + "\n").encode())


def get_model(model_id):
    for m in MODELS:
        if m[0] == model_id:
            return Response(200, _JSON, (pretty(_model_info(*m)) + "\n").encode())
    return error(404, "models/%s is not found for API version v1beta, or is not supported for "
                 "generateContent. Call ListModels to see the list of available models and their "
                 "supported methods." % model_id, "NOT_FOUND")
