/// Why a request could not be parsed, as the status to answer with and a sentence for the client.
///
/// The reason is fixed text chosen by the parser: it never quotes header values or body bytes, so it is
/// safe to send back verbatim. After a parse error the connection is closed.
struct HTTPParseError: Error, Equatable, Sendable {
    /// 400, 413, 431, 501 or 505.
    var status: Int
    /// A short sentence that is safe to show a client.
    var reason: String

    // 400: the request is malformed.
    static let malformedRequestLine = HTTPParseError(status: 400, reason: "Malformed request line.")
    static let invalidMethod = HTTPParseError(status: 400, reason: "Invalid request method.")
    static let invalidTarget = HTTPParseError(status: 400, reason: "Invalid request target.")
    static let malformedVersion = HTTPParseError(status: 400, reason: "Malformed HTTP version.")
    static let badLineEnding = HTTPParseError(status: 400, reason: "Lines must end with CRLF.")
    static let tooManyEmptyLines = HTTPParseError(
        status: 400, reason: "Too many empty lines before the request line.")
    static let invalidFieldName = HTTPParseError(status: 400, reason: "Invalid header field name.")
    static let invalidFieldValue = HTTPParseError(
        status: 400, reason: "Invalid character in a header field value.")
    static let obsoleteLineFolding = HTTPParseError(
        status: 400, reason: "Obsolete line folding is not allowed.")
    static let missingHost = HTTPParseError(status: 400, reason: "An HTTP/1.1 request needs a Host header.")
    static let multipleHosts = HTTPParseError(status: 400, reason: "Only one Host header is allowed.")
    static let invalidContentLength = HTTPParseError(status: 400, reason: "Invalid Content-Length.")
    static let conflictingContentLength = HTTPParseError(
        status: 400, reason: "Conflicting Content-Length values.")
    static let transferEncodingWithContentLength = HTTPParseError(
        status: 400, reason: "Transfer-Encoding and Content-Length must not be sent together.")
    static let transferEncodingInHTTP10 = HTTPParseError(
        status: 400, reason: "Transfer-Encoding is not allowed in HTTP/1.0.")
    static let invalidChunkSize = HTTPParseError(status: 400, reason: "Invalid chunk size.")
    static let chunkLineTooLong = HTTPParseError(status: 400, reason: "Chunk size line too long.")
    static let invalidChunkExtension = HTTPParseError(status: 400, reason: "Invalid chunk extension.")
    static let missingChunkTerminator = HTTPParseError(
        status: 400, reason: "Chunk data must be followed by CRLF.")

    // 413, 431: the request is too large.
    static let bodyTooLarge = HTTPParseError(status: 413, reason: "Request body too large.")
    static let headTooLarge = HTTPParseError(status: 431, reason: "Request header section too large.")
    static let tooManyFields = HTTPParseError(status: 431, reason: "Too many header fields.")
    static let trailersTooLarge = HTTPParseError(status: 431, reason: "Trailer section too large.")

    // 501, 505: well formed, but not something this server does.
    static let unsupportedTransferEncoding = HTTPParseError(
        status: 501, reason: "Only the chunked transfer coding is supported.")
    static let unsupportedVersion = HTTPParseError(status: 505, reason: "HTTP version not supported.")
}
