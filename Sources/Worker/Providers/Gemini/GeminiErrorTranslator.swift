import Common

/// Gemini's errors (`{"error": {code, message, status, details}}`, a `google.rpc.Status`) in
/// OpenAI's shape. The HTTP status decides the client's status; Gemini's `status` and
/// `details` refine the code:
///
/// | Gemini | client | type / code | failover |
/// |---|---|---|---|
/// | 400 INVALID_ARGUMENT | 400 | invalid_request_error / null (context_length_exceeded when the prompt is too long) | no |
/// | 400 with reason API_KEY_INVALID | 401 | authentication_error / invalid_api_key | no |
/// | 400 FAILED_PRECONDITION | 400 | invalid_request_error / failed_precondition | no |
/// | 401 UNAUTHENTICATED | 401 | authentication_error / invalid_api_key | no |
/// | 403 PERMISSION_DENIED | 403 | permission_error / null | no |
/// | 404 NOT_FOUND | 404 | not_found_error / model_not_found (when about a model) | no |
/// | 429 RESOURCE_EXHAUSTED | 429 | rate_limit_error / rate_limit_exceeded (insufficient_quota for a daily quota) | yes |
/// | 500 INTERNAL, 502 | same | api_error / upstream_error | yes |
/// | 503 UNAVAILABLE, 529 | same | api_error / overloaded | yes |
/// | 504 DEADLINE_EXCEEDED | 504 | api_error / upstream_timeout | yes |
///
/// On a 429, `retryAfter` comes from `RetryInfo.retryDelay` (Gemini sends no Retry-After
/// header), except for a daily quota, which a short wait does not clear. The message is
/// Gemini's, prefixed "Gemini: ". A body that is not JSON gets a message naming the status. An
/// error inside a stream (no HTTP status) takes the status from `error.code`.
enum GeminiErrorTranslator {
    static func translate(status: Int, body: [UInt8]) -> GatewayError {
        var parsed = try? JSONParser.parse(body)
        if case .array(let list) = parsed, list.count == 1 { parsed = list[0] }
        guard case .object(let error) = parsed?["error"] else {
            return make(status: status, googleStatus: nil, message: nil, details: [])
        }
        return translate(status: status, error: error)
    }

    /// `error` is the object under `"error"`; `status` is the HTTP status, 0 when there is none.
    static func translate(status: Int, error: JSONObject) -> GatewayError {
        var httpStatus = status
        if !(400...599).contains(httpStatus) {
            httpStatus = error["code"]?.intValue.flatMap { (400...599).contains($0) ? $0 : nil }
                ?? error["status"]?.stringValue.flatMap(Self.httpStatus(forGoogleStatus:)) ?? 502
        }
        return make(
            status: httpStatus, googleStatus: error["status"]?.stringValue, message: error["message"]?.stringValue,
            details: error["details"]?.arrayValue ?? [])
    }

    /// The provider answered 2xx with something its API does not send.
    static func malformed(_ message: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: "bad_upstream_response", message: message, retryable: true)
    }

    /// The stream ended before a chunk with `finishReason`.
    static let truncated = GatewayError(
        status: 502, type: "api_error", code: "upstream_stream_truncated",
        message: "Gemini ended the stream before its final chunk.", retryable: true)

    private static func make(status: Int, googleStatus: String?, message: String?, details: [JSONValue]) -> GatewayError {
        let text: String
        if let message, !message.isEmpty {
            text = "Gemini: " + String(message.prefix(2000))
        } else if let googleStatus {
            text = "Gemini answered HTTP \(status) (\(googleStatus.prefix(40)))."
        } else {
            text = "Gemini answered HTTP \(status) without an error the gateway could read."
        }
        let reasons = details.compactMap { $0["reason"]?.stringValue }
        switch status {
        case 400 where reasons.contains("API_KEY_INVALID"):
            return GatewayError(status: 401, type: "authentication_error", code: "invalid_api_key", message: text)
        case 400 where googleStatus == "FAILED_PRECONDITION":
            return .invalidRequest(text, code: "failed_precondition")
        case 400 where (message ?? "").contains("exceeds the maximum number of tokens"):
            return .invalidRequest(text, code: "context_length_exceeded")
        case 401:
            return GatewayError(status: 401, type: "authentication_error", code: "invalid_api_key", message: text)
        case 403:
            return GatewayError(status: 403, type: "permission_error", message: text)
        case 404:
            let aboutModel = (message ?? "").contains("models/")
            return GatewayError(status: 404, type: "not_found_error", code: aboutModel ? "model_not_found" : nil, message: text)
        case 408:
            return GatewayError(status: 408, type: "api_error", code: "upstream_timeout", message: text, retryable: true)
        case 429:
            let daily = details.contains { detail in
                (detail["violations"]?.arrayValue ?? []).contains { ($0["quotaId"]?.stringValue ?? "").contains("PerDay") }
            }
            var error = GatewayError(
                status: 429, type: "rate_limit_error", code: daily ? "insufficient_quota" : "rate_limit_exceeded",
                message: text, retryable: true)
            // Gemini sends no Retry-After header; its wait is `RetryInfo.retryDelay` in the body.
            // A daily quota does not clear in that time, so it gets none.
            if !daily { error.retryAfter = retryAfter(details) }
            return error
        case 503, 529:
            return GatewayError(status: status, type: "api_error", code: "overloaded", message: text, retryable: true)
        case 504:
            return GatewayError(status: 504, type: "api_error", code: "upstream_timeout", message: text, retryable: true)
        case 500...599:
            return GatewayError(status: status, type: "api_error", code: "upstream_error", message: text, retryable: true)
        case 400...499:
            return .invalidRequest(text, status: status)
        default:
            return GatewayError(status: 502, type: "api_error", code: "upstream_error", message: text, retryable: true)
        }
    }

    /// `RetryInfo.retryDelay` ("27s", "3.700s") as whole seconds, rounded up.
    static func retryAfter(_ details: [JSONValue]) -> String? {
        for detail in details {
            guard var delay = detail["retryDelay"]?.stringValue, delay.hasSuffix("s") else { continue }
            delay.removeLast()
            guard let seconds = Double(delay), seconds.isFinite, seconds >= 0, seconds < 86_400 else { continue }
            return String(max(1, Int(seconds.rounded(.up))))
        }
        return nil
    }

    /// The HTTP status Google pairs with each canonical code.
    static func httpStatus(forGoogleStatus status: String) -> Int? {
        switch status {
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE": 400
        case "UNAUTHENTICATED": 401
        case "PERMISSION_DENIED": 403
        case "NOT_FOUND": 404
        case "ABORTED", "ALREADY_EXISTS": 409
        case "RESOURCE_EXHAUSTED": 429
        case "CANCELLED": 499
        case "INTERNAL", "UNKNOWN", "DATA_LOSS": 500
        case "UNIMPLEMENTED": 501
        case "UNAVAILABLE": 503
        case "DEADLINE_EXCEEDED": 504
        default: nil
        }
    }
}
