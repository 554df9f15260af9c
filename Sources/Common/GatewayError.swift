/// The one error type of the request path. It carries everything the client and the failover
/// logic need: the HTTP status, OpenAI's error `type` and `code`, the offending parameter, and
/// whether another provider may be tried. Errors are values, rendered in exactly one place.
public struct GatewayError: Error, Equatable, Sendable {
    public var status: Int
    public var type: String
    public var code: String?
    public var param: String?
    /// A sentence a person can act on. Never contains a key, a token or a request body.
    public var message: String
    /// True when a failover to another provider may follow (429, 5xx, timeouts, refused connections).
    public var retryable: Bool
    /// Seconds the client should wait, sent as `Retry-After` (on 429s).
    public var retryAfter: String?

    public init(
        status: Int, type: String, code: String? = nil, param: String? = nil, message: String,
        retryable: Bool = false
    ) {
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.message = message
        self.retryable = retryable
    }

    /// `{"error":{"message":…,"type":…,"code":…,"param":…}}`, OpenAI's error shape.
    public var json: String {
        "{\"error\":{\"message\":\(JSONText.quoted(message)),\"type\":\(JSONText.quoted(type)),"
            + "\"code\":\(code.map(JSONText.quoted) ?? "null"),\"param\":\(param.map(JSONText.quoted) ?? "null")}}"
    }

    // MARK: - The common cases

    public static func invalidRequest(_ message: String, code: String? = nil, param: String? = nil, status: Int = 400)
        -> GatewayError
    {
        GatewayError(status: status, type: "invalid_request_error", code: code, param: param, message: message)
    }

    public static func notFound(path: String) -> GatewayError {
        invalidRequest(
            "Unknown route \(path.prefix(200)). The gateway serves /v1/chat/completions, /v1/models, /healthz, /readyz and /metrics.",
            code: "not_found", status: 404)
    }

    public static func methodNotAllowed(_ method: String, path: String, allowed: String) -> GatewayError {
        invalidRequest("\(path) does not accept \(method.prefix(20)); use \(allowed).", code: "method_not_allowed", status: 405)
    }

    public static func serviceUnavailable(_ message: String, code: String? = nil) -> GatewayError {
        GatewayError(status: 503, type: "service_unavailable", code: code, message: message)
    }
}
