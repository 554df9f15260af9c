import Common

/// Anthropic's errors (`{"type": "error", "error": {"type", "message"}, "request_id"}`) as the
/// gateway's one error type. Status, type and retryability follow `UpstreamErrors`, shared by the
/// providers (400/413 invalid_request_error, 401 authentication_error, 403 permission_error,
/// 429 rate_limit_error, 5xx and 529 api_error; retryable on 429 and 5xx/529), except that a 404
/// is `not_found_error` as the gateway's provider mapping specifies; the message is Anthropic's,
/// prefixed "Anthropic: ". What Anthropic's answer says more precisely becomes OpenAI's `code`:
///
/// | Anthropic                                              | code                    |
/// |--------------------------------------------------------|-------------------------|
/// | 400 "prompt is too long" / "exceed context limit"      | context_length_exceeded |
/// | 401 authentication_error                               | invalid_api_key         |
/// | 402 billing_error, 429 with `enforced_spend_limit_reached` | insufficient_quota  |
/// | 404 not_found_error                                    | model_not_found         |
/// | 413 request_too_large                                  | request_too_large       |
/// | 429 rate_limit_error                                   | rate_limit_exceeded     |
/// | 504 timeout_error                                      | upstream_timeout        |
/// | 529 overloaded_error                                   | overloaded              |
/// | other 5xx                                              | upstream_error          |
///
/// A mid-stream `error` event has no status of its own: it takes the status of its type.
enum AnthropicErrorTranslator {
    static func translate(status: Int, body: [UInt8]) -> GatewayError {
        let error = (try? JSONParser.parse(body))?["error"]
        return translate(status: status, error: error?["message"]?.stringValue == nil ? nil : error)
    }

    /// An `error` event inside a stream that had already answered 200 (or an error body with a 2xx
    /// status): the status follows from the error's type.
    static func translate(event: JSONObject) -> GatewayError {
        let error = event["error"]
        let status: Int
        switch error?["type"]?.stringValue {
        case "invalid_request_error": status = 400
        case "authentication_error": status = 401
        case "billing_error": status = 402
        case "permission_error": status = 403
        case "not_found_error": status = 404
        case "request_too_large": status = 413
        case "rate_limit_error": status = 429
        case "timeout_error": status = 504
        case "overloaded_error": status = 529
        default: status = 500
        }
        return translate(status: status, error: error)
    }

    /// A 2xx answer the gateway cannot read: a bad gateway, worth another provider's try.
    static func invalidResponse(_ reason: String) -> GatewayError {
        var error = UpstreamErrors.malformed(.anthropic)
        error.message = "Anthropic sent a response the gateway could not read: \(reason)."
        return error
    }

    /// A stream that ended before `message_stop`: the answer is incomplete, never reported whole.
    static var truncatedStream: GatewayError { UpstreamErrors.truncated(.anthropic) }

    private static func translate(status: Int, error: JSONValue?) -> GatewayError {
        let message = error?["message"]?.stringValue
        let code: String?
        switch status {
        case 400:
            let tooLong = message.map { $0.contains("prompt is too long") || $0.contains("exceed context limit") } ?? false
            code = tooLong ? "context_length_exceeded" : nil
        case 401: code = "invalid_api_key"
        case 402: code = "insufficient_quota"
        case 404: code = "model_not_found"
        case 413: code = "request_too_large"
        case 429:
            let spendLimit = error?["details"]?["error_code"]?.stringValue == "enforced_spend_limit_reached"
            code = spendLimit ? "insufficient_quota" : nil
        case 504: code = "upstream_timeout"
        default: code = nil
        }
        var mapped = UpstreamErrors.make(provider: .anthropic, status: status, message: message, type: nil, code: code, param: nil)
        if status == 404 { mapped.type = "not_found_error" }
        return mapped
    }
}
