import Common

/// Reads the request headers the pipeline acts on, refusing values that could not be logged
/// safely (control characters, unbounded lengths).
enum RequestHeaders {
    static let maxValueLength = 128

    /// The client's `X-Request-Id`, if it is one the gateway can echo and log.
    static func requestID(_ request: HTTPRequest) -> String? {
        clean(request.headers.first("X-Request-Id"))
    }

    static func customerID(_ request: HTTPRequest) -> String? {
        clean(request.headers.first("X-Customer-ID"))
    }

    /// Cost-attribution labels from `X-LLM0-Feature`, `X-LLM0-Team` and `X-LLM0-Client`.
    static func labels(_ request: HTTPRequest) -> [String: String] {
        var labels: [String: String] = [:]
        for (header, name) in [("X-LLM0-Feature", "feature"), ("X-LLM0-Team", "team"), ("X-LLM0-Client", "client")] {
            if let value = clean(request.headers.first(header)) { labels[name] = value }
        }
        return labels
    }

    /// The bearer token of `Authorization`, if the header has that form.
    static func bearerToken(_ request: HTTPRequest) -> String? {
        guard let value = request.headers.first("Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters()
        return token.isEmpty || token.count > 512 ? nil : token
    }

    private static func clean(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= maxValueLength,
            value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
        else { return nil }
        return value
    }
}

/// Resolves the request's gateway key to an identity, or refuses the request.
@LoopActor
struct RequestAuthenticator {
    let keys: KeyCache

    func authenticate(_ request: HTTPRequest) async throws(GatewayError) -> ClientIdentity {
        guard let token = RequestHeaders.bearerToken(request) else {
            throw GatewayError(
                status: 401, type: "authentication_error", code: "missing_api_key",
                message: "No API key was sent. Send your gateway key as 'Authorization: Bearer gw_…'.")
        }
        switch await keys.identity(forKey: token) {
        case .success(let identity?):
            return identity
        case .success(nil):
            throw GatewayError(
                status: 401, type: "authentication_error", code: "invalid_api_key",
                message: "The API key is not valid or has been revoked.")
        case .failure:
            throw GatewayError.serviceUnavailable(
                "The gateway cannot check API keys right now because its database is unavailable; retry shortly.",
                code: "store_unavailable")
        }
    }
}
