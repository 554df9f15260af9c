import Common

/// Builds the `GatewayError` for an upstream failure in OpenAI's shape, the same way for every
/// provider: the provider's status decides the client's status and whether failover may follow.
enum UpstreamErrors {
    /// Maps a provider's error answer. `type` and `code` are the provider's own when it gave
    /// OpenAI-style ones; otherwise they follow from the status.
    static func make(
        provider: ProviderID, status: Int, message: String?, type: String?, code: String?, param: String?
    ) -> GatewayError {
        let retryable = status == 429 || status >= 500
        let name = provider.displayName
        let text = message.map { "\(name): \($0.prefix(2000))" } ?? "\(name) answered HTTP \(status)."
        let clientStatus = (400...599).contains(status) ? status : 502
        // The type follows the status, the same for every provider (OpenAI itself is not
        // consistent: its 401s say invalid_request_error); the provider's own code is kept.
        _ = type
        return GatewayError(
            status: clientStatus, type: defaultType(status: clientStatus), code: code ?? defaultCode(status: status),
            param: param, message: text, retryable: retryable)
    }

    static func defaultType(status: Int) -> String {
        switch status {
        case 400, 409, 413, 422: "invalid_request_error"
        case 404: "not_found_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        default: "api_error"
        }
    }

    static func defaultCode(status: Int) -> String? {
        switch status {
        case 429: "rate_limit_exceeded"
        case 529: "overloaded"
        case 504: "upstream_timeout"
        case 500...599: "upstream_error"
        default: nil
        }
    }

    /// The provider answered 2xx with a body that is not what its API sends.
    static func malformed(_ provider: ProviderID) -> GatewayError {
        GatewayError(
            status: 502, type: "api_error", code: "bad_upstream_response",
            message: "\(provider.displayName) sent a response the gateway could not read.", retryable: true)
    }

    /// The provider's stream ended before its end marker.
    static func truncated(_ provider: ProviderID) -> GatewayError {
        GatewayError(
            status: 502, type: "api_error", code: "upstream_stream_truncated",
            message: "\(provider.displayName) ended the stream before it was complete.", retryable: true)
    }
}

extension ProviderID {
    var displayName: String {
        switch self {
        case .openai: "OpenAI"
        case .anthropic: "Anthropic"
        case .gemini: "Gemini"
        }
    }
}
