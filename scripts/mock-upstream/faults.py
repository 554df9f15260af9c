"""Fault specifications: parsing (model suffix, x-mock-* headers, control
JSON) and the queue behind POST /__mock/faults."""

import itertools
import threading


class FaultError(ValueError):
    pass


def _bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    s = str(v).strip().lower()
    if s in ("", "1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise FaultError("not a boolean: %r" % (v,))


def _int(v):
    if isinstance(v, bool):
        raise FaultError("not an integer: %r" % (v,))
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise FaultError("not an integer: %r" % (v,)) from None
        if f != int(f):
            raise FaultError("not an integer: %r" % (v,)) from None
        return int(f)


def _str(v):
    return str(v)


# canonical key -> converter
KEYS = {
    "status": _int,              # answer with this HTTP status, provider's error shape
    "retry_after": _int,         # seconds; retry-after header / Gemini RetryInfo
    "quota": _bool,              # OpenAI 429 as insufficient_quota (no retry-after)
    "message": _str,             # override the error message
    "delay_ms": _int,            # wait before sending response headers
    "reset": _bool,              # read the request, then RST the connection
    "close": _bool,              # read the request, then close (FIN) without answering
    "cut_after_chunks": _int,    # stream: close the socket after N events
    "stream_error_after": _int,  # stream: in-band error event in place of event N
    "stream_error_status": _int,  # which error the in-band event carries
    "chunk_delay_ms": _int,      # stream: pause before each event after the first
    "chunks": _int,              # stream: number of content chunks (default 5)
    "cached_tokens": _int,       # report this many cached prompt tokens
    "cache_write_tokens": _int,  # Anthropic cache_creation_input_tokens
    "reasoning_tokens": _int,    # OpenAI reasoning_tokens / Gemini thoughtsTokenCount
}

ALIASES = {
    "slow_chunks_ms": "chunk_delay_ms",
    "delay": "chunk_delay_ms",
    "retry": "retry_after",
    "cut": "cut_after_chunks",
    "error_after": "stream_error_after",
    "cached": "cached_tokens",
}

BOOL_KEYS = {"reset", "close", "quota"}

# keys that make a request count as "faulted" in /__mock/stats
FAULT_KEYS = ("status", "delay_ms", "reset", "close", "cut_after_chunks",
              "stream_error_after")

PROVIDERS = ("openai", "anthropic", "gemini")


def canon(key):
    k = key.strip().lower().replace("-", "_")
    return ALIASES.get(k, k)


def parse_pairs(items):
    """items: iterable of (key, value) with value None meaning 'flag'."""
    out = {}
    for k, v in items:
        ck = canon(k)
        conv = KEYS.get(ck)
        if conv is None:
            raise FaultError("unknown mock fault key %r" % (k,))
        if v is None:
            if ck not in BOOL_KEYS:
                raise FaultError("mock fault key %r needs a value" % (k,))
            v = True
        out[ck] = conv(v)
    _check(out)
    return out


def parse_spec(spec):
    """'status=429,retry_after=5' (also '&' or '@' separated; a bare key is a
    boolean flag)."""
    items = []
    for part in spec.replace("&", ",").replace("@", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            items.append((k, v))
        else:
            items.append((part, None))
    return parse_pairs(items)


def looks_like_spec(spec):
    """A model suffix is a fault spec if it contains '=' or is a known flag;
    otherwise (e.g. Vertex-style 'claude-3-5-sonnet@20240620') the model name
    is left untouched."""
    if "=" in spec:
        return True
    return all(canon(p) in BOOL_KEYS for p in spec.replace("&", ",").split(",") if p.strip())


def from_headers(headers):
    """x-mock-fault: <spec>  and/or  x-mock-<key>: <value>."""
    out = {}
    spec = headers.get("x-mock-fault")
    if spec:
        out.update(parse_spec(spec))
    items = []
    for name, value in headers.items():
        if name.startswith("x-mock-") and name != "x-mock-fault":
            items.append((name[7:], value))
    if items:
        out.update(parse_pairs(items))
    return out


def _check(f):
    st = f.get("status")
    if st is not None and not (100 <= st <= 599):
        raise FaultError("status must be 100..599")
    for k in ("delay_ms", "chunk_delay_ms", "retry_after", "cut_after_chunks",
              "stream_error_after", "cached_tokens", "cache_write_tokens",
              "reasoning_tokens"):
        if k in f and f[k] < 0:
            raise FaultError("%s must be >= 0" % k)
    if "chunks" in f and not (1 <= f["chunks"] <= 100000):
        raise FaultError("chunks must be 1..100000")


class FaultStore:
    """Queued faults from POST /__mock/faults.  Each rule matches a provider
    (or any) and optionally one model, and applies to the next `count`
    matching requests (count -1: until cleared)."""

    def __init__(self):
        self._rules = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, obj):
        if not isinstance(obj, dict):
            raise FaultError("fault must be a JSON object")
        provider = obj.get("provider", "any")
        if provider in (None, "*", "all"):
            provider = "any"
        if provider != "any" and provider not in PROVIDERS:
            raise FaultError("provider must be one of openai, anthropic, gemini, any")
        model = obj.get("model")
        if model is not None and not isinstance(model, str):
            raise FaultError("model must be a string")
        count = obj.get("count", 1)
        try:
            count = _int(count)
        except FaultError:
            raise FaultError("count must be an integer") from None
        if count == 0 or count < -1:
            raise FaultError("count must be >= 1, or -1 for 'until cleared'")
        items = [(k, v) for k, v in obj.items() if k not in ("provider", "model", "count")]
        fault = parse_pairs(items)
        if not fault:
            raise FaultError("no fault given")
        rule = {"id": next(self._ids), "provider": provider, "model": model,
                "count": count, "fault": fault, "applied": 0}
        with self._lock:
            self._rules.append(rule)
        return self._public(rule)

    def pending(self):
        return bool(self._rules)

    def take(self, provider, model):
        if not self._rules:
            return None
        with self._lock:
            for i, r in enumerate(self._rules):
                if r["provider"] not in ("any", provider):
                    continue
                if r["model"] is not None and r["model"] != model:
                    continue
                r["applied"] += 1
                if r["count"] > 0:
                    r["count"] -= 1
                    if r["count"] == 0:
                        del self._rules[i]
                return r["fault"]
        return None

    def clear(self, provider=None):
        with self._lock:
            if provider is None:
                n = len(self._rules)
                self._rules = []
            else:
                keep = [r for r in self._rules if r["provider"] != provider]
                n = len(self._rules) - len(keep)
                self._rules = keep
        return n

    def list(self):
        with self._lock:
            return [self._public(r) for r in self._rules]

    @staticmethod
    def _public(r):
        d = {"id": r["id"], "provider": r["provider"], "remaining": r["count"],
             "applied": r["applied"]}
        if r["model"] is not None:
            d["model"] = r["model"]
        d.update(r["fault"])
        return d
