/// What a request's header fields say about its framing and its connection, gathered field by field
/// as the parser reads them, so that no field has to be looked up again once the head has ended.
struct HTTPFraming: Sendable {
    /// How the body of a request is delimited.
    enum Body: Equatable, Sendable {
        case none
        case length(Int)
        case chunked
    }

    private(set) var hostCount = 0
    private(set) var contentLength = -1
    private(set) var transferEncodingCount = 0
    private(set) var transferEncodingIsChunked = false
    private(set) var connectionClose = false
    private(set) var connectionKeepAlive = false
    private(set) var expectsContinue = false

    /// Takes note of one header field, name and value given as offsets into `p` (value trimmed).
    @inline(__always)
    mutating func note(
        _ p: UnsafePointer<UInt8>, name nameStart: Int, _ nameEnd: Int, value valueStart: Int, _ valueEnd: Int
    ) throws(HTTPParseError) {
        let name = p + nameStart
        let value = p + valueStart
        let valueLength = valueEnd - valueStart
        switch nameEnd - nameStart {
        case 4 where HTTPSyntax.equalsIgnoringCase(name, 4, "host"):
            hostCount += 1
        case 6 where HTTPSyntax.equalsIgnoringCase(name, 6, "expect"):
            if HTTPSyntax.equalsIgnoringCase(value, valueLength, "100-continue") { expectsContinue = true }
        case 10 where HTTPSyntax.equalsIgnoringCase(name, 10, "connection"):
            HTTPSyntax.forEachListElement(p, valueStart, valueEnd) { token, length in
                if HTTPSyntax.equalsIgnoringCase(token, length, "close") { connectionClose = true }
                if HTTPSyntax.equalsIgnoringCase(token, length, "keep-alive") { connectionKeepAlive = true }
            }
        case 14 where HTTPSyntax.equalsIgnoringCase(name, 14, "content-length"):
            let length = try HTTPSyntax.contentLength(p, valueStart, valueEnd)
            guard contentLength < 0 || contentLength == length else { throw .conflictingContentLength }
            contentLength = length
        case 17 where HTTPSyntax.equalsIgnoringCase(name, 17, "transfer-encoding"):
            transferEncodingCount += 1
            transferEncodingIsChunked = HTTPSyntax.equalsIgnoringCase(value, valueLength, "chunked")
        default:
            break
        }
    }

    /// The body framing of a complete head, or the error that refuses it (RFC 9112 §6.1–6.3).
    func body(version: HTTPVersion, maxBodyBytes: Int) throws(HTTPParseError) -> Body {
        if version == .http1_1 && hostCount == 0 { throw .missingHost }
        if hostCount > 1 { throw .multipleHosts }
        if transferEncodingCount > 0 {
            // Both framings at once is the classic smuggling vector: refuse rather than pick one.
            guard contentLength < 0 else { throw .transferEncodingWithContentLength }
            guard version == .http1_1 else { throw .transferEncodingInHTTP10 }
            // Several Transfer-Encoding fields combine into a list, which is never just "chunked".
            guard transferEncodingCount == 1 && transferEncodingIsChunked else {
                throw .unsupportedTransferEncoding
            }
            return .chunked
        }
        if contentLength > 0 {
            guard contentLength <= maxBodyBytes else { throw .bodyTooLarge }
            return .length(contentLength)
        }
        return .none
    }

    /// Whether the client wants a "100 Continue" before it sends the body (HTTP/1.1 only).
    func wantsContinue(version: HTTPVersion) -> Bool {
        expectsContinue && version == .http1_1
    }

    /// HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive".
    func keepAlive(version: HTTPVersion) -> Bool {
        !connectionClose && (version == .http1_1 || connectionKeepAlive)
    }
}
