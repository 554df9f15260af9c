import Common

/// Why an upstream attempt produced no usable HTTP response.
enum UpstreamFailure: Error, Equatable, Sendable {
    /// No response headers within UPSTREAM_TIMEOUT.
    case timeout
    /// A stream fell silent for longer than UPSTREAM_IDLE_TIMEOUT.
    case idleTimeout
    /// Refused, reset, DNS or TLS failure: the text says which (never a credential).
    case connection(String)
    /// The response body passed the size limit.
    case tooLarge
    /// The gateway gave up on it (the client went away).
    case cancelled

    /// The error a client sees when this was the last attempt; all but `cancelled` may fail over.
    func gatewayError(provider: ProviderID) -> GatewayError {
        let name = provider.displayName
        switch self {
        case .timeout:
            return GatewayError(status: 504, type: "api_error", code: "upstream_timeout",
                message: "\(name) did not answer within UPSTREAM_TIMEOUT.", retryable: true)
        case .idleTimeout:
            return GatewayError(status: 504, type: "api_error", code: "upstream_idle_timeout",
                message: "\(name) stopped sending for longer than UPSTREAM_IDLE_TIMEOUT.", retryable: true)
        case .connection(let reason):
            return GatewayError(status: 502, type: "api_error", code: "upstream_connection_error",
                message: "Could not reach \(name): \(reason).", retryable: true)
        case .tooLarge:
            return GatewayError(status: 502, type: "api_error", code: "upstream_response_too_large",
                message: "\(name) sent a response larger than the gateway accepts.", retryable: false)
        case .cancelled:
            return GatewayError(status: 499, type: "api_error", code: "cancelled",
                message: "The request was cancelled.", retryable: false)
        }
    }
}
