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

    /// The bearer token of `Authorization` ("Bearer", in any case, a space, then the token), if
    /// the header has that form. Read as bytes: it runs for every request.
    static func bearerToken(_ request: HTTPRequest) -> String? {
        guard var value = request.headers.first("Authorization") else { return nil }
        return value.withUTF8(token(afterBearer:))
    }

    private static func token(afterBearer bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let scheme: StaticString = "bearer"
        var start = 0
        while start < bytes.count, bytes[start] == 0x20 { start += 1 }
        guard bytes.count - start > scheme.utf8CodeUnitCount else { return nil }
        for offset in 0..<scheme.utf8CodeUnitCount where bytes[start + offset] | 0x20 != scheme.utf8Start[offset] {
            return nil  // OR-ing 0x20 lowercases an ASCII letter; every byte of the scheme is one
        }
        start += scheme.utf8CodeUnitCount
        guard bytes[start] == 0x20 else { return nil }
        var end = bytes.count
        while start < end, bytes[start].isHTTPWhitespace { start += 1 }
        while end > start, bytes[end - 1].isHTTPWhitespace { end -= 1 }
        guard end > start, end - start <= 512 else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
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
