import Testing

@testable import Worker

/// What feeding bytes to a parser produced, in order: requests, then at most one error, then whether
/// a request was left half-read when the bytes ran out.
private enum Outcome: Equatable, CustomStringConvertible {
    case request(HTTPRequest, consumed: Int)
    case error(HTTPParseError)
    case partial

    var description: String {
        switch self {
        case .request(let r, let consumed):
            return "request(\(r.method) \(r.target) body=\(r.body.count) consumed=\(consumed))"
        case .error(let e): return "error(\(e.status) \(e.reason))"
        case .partial: return "partial"
        }
    }
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Feeds `pieces` one after another the way a connection does: append, parse, drop what was consumed.
private func feed(
    _ pieces: [[UInt8]], maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096
) -> [Outcome] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    var buffer: [UInt8] = []
    var outcomes: [Outcome] = []
    for piece in pieces {
        buffer.append(contentsOf: piece)
        parsing: while !buffer.isEmpty {
            do {
                switch try buffer.withUnsafeBytes({ try parser.parse($0) }) {
                case .incomplete:
                    break parsing
                case .complete(let request, let consumed):
                    outcomes.append(.request(request, consumed: consumed))
                    buffer.removeFirst(consumed)
                }
            } catch let error as HTTPParseError {
                outcomes.append(.error(error))
                return outcomes
            } catch {
                Issue.record("untyped error \(error)")
                return outcomes
            }
        }
    }
    if parser.hasPartialRequest { outcomes.append(.partial) }
    return outcomes
}

private func feed(_ text: String, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096) -> [Outcome] {
    feed([bytes(text)], maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
}

/// The single request in `text`, or nil (with a recorded issue) if the outcome is anything else.
private func request(_ text: String, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096) -> HTTPRequest? {
    let outcomes = feed(text, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    guard outcomes.count == 1, case .request(let request, let consumed) = outcomes[0] else {
        Issue.record("expected one request, got \(outcomes)")
        return nil
    }
    #expect(consumed == text.utf8.count)
    return request
}

/// The status the single outcome of `text` failed with, or nil.
private func status(_ text: String, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096) -> Int? {
    let outcomes = feed(text, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    guard case .error(let error)? = outcomes.last else { return nil }
    return error.status
}

private func parseOnce(_ parser: inout HTTPRequestParser, _ data: [UInt8]) throws -> HTTPRequestParser.Result {
    try data.withUnsafeBytes { try parser.parse($0) }
}

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {

    // MARK: - Well-formed requests

    @Test func simpleGet() throws {
        let text = "GET /v1/models?limit=5&x=%20 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
        let expected = HTTPRequest(
            method: "GET", target: "/v1/models?limit=5&x=%20", path: "/v1/models", query: "limit=5&x=%20",
            version: .http1_1,
            headers: HTTPHeaders([(name: "Host", value: "example.com"), (name: "Accept", value: "*/*")]),
            body: [], keepAlive: true)
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        #expect(!parser.hasPartialRequest)
        #expect(!parser.headComplete)
        let result = try parseOnce(&parser, bytes(text))
        #expect(result == .complete(expected, consumed: text.utf8.count))
        #expect(!parser.hasPartialRequest)
        #expect(!parser.headComplete)
    }

    @Test func postWithContentLength() throws {
        let r = try #require(request("POST /v1/chat HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"))
        #expect(r.method == "POST")
        #expect(r.path == "/v1/chat")
        #expect(r.query == nil)
        #expect(r.body == bytes("hello world"))
        #expect(r.headers.first("content-length") == "11")
    }

    @Test func emptyQueryIsNotNil() throws {
        let r = try #require(request("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(r.path == "/p")
        #expect(r.query == "")
        let r2 = try #require(request("GET /p?a?b HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(r2.path == "/p")
        #expect(r2.query == "a?b")
    }

    @Test func methodIsKeptAsSent() throws {
        let r = try #require(request("m-search.X /p HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(r.method == "m-search.X")
    }

    @Test func noBodyFramingMeansEmptyBodyForAnyMethod() {
        let text = "POST /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let outcomes = feed(text)
        #expect(outcomes.count == 2)
        guard case .request(let first, let consumed) = outcomes[0], case .request(let second, _) = outcomes[1]
        else { Issue.record("\(outcomes)"); return }
        #expect(first.method == "POST" && first.body.isEmpty && consumed == 29)
        #expect(second.method == "GET" && second.path == "/b")
    }

    @Test func headerValuesAreTrimmedAndNamesKeptAsSent() throws {
        let r = try #require(
            request("GET / HTTP/1.1\r\nhOsT:h\r\nX-A: \t a  b \t \r\nX-Empty:\r\nX-Sp:   \r\nX-A: 2\r\n\r\n"))
        #expect(r.headers.fields.map(\.name) == ["hOsT", "X-A", "X-Empty", "X-Sp", "X-A"])
        #expect(r.headers.fields.map(\.value) == ["h", "a  b", "", "", "2"])
        #expect(r.headers.first("x-a") == "a  b")
        #expect(r.headers.all("X-A") == ["a  b", "2"])
        #expect(r.headers.contains("HOST"))
        #expect(!r.headers.contains("Hos"))
        #expect(r.headers.first("missing") == nil)
    }

    @Test func obsTextIsAllowedInValues() throws {
        var data = bytes("GET / HTTP/1.1\r\nHost: h\r\nX: caf")
        data += [0xC3, 0xA9, 0xFF, 0x80]
        data += bytes("\r\n\r\n")
        let outcomes = feed([data])
        guard case .request(let r, _)? = outcomes.first else { Issue.record("\(outcomes)"); return }
        #expect(r.headers.first("x") == "café\u{FFFD}\u{FFFD}")
    }

    @Test func headersAPI() {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("X-Tag", "a")
        headers.add("x-tag", "b")
        #expect(headers.first("content-type") == "application/json")
        #expect(headers.all("X-TAG") == ["a", "b"])
        #expect(headers.contains("x-Tag"))
        #expect(!headers.contains("x-ta"))
        var seen: [String] = []
        for (name, value) in headers { seen.append("\(name)=\(value)") }
        #expect(seen == ["Content-Type=application/json", "X-Tag=a", "x-tag=b"])
        let built = HTTPHeaders(fields: [(name: "A", value: "1")])
        #expect(built.first("a") == "1" && built == HTTPHeaders([(name: "A", value: "1")]))
        #expect(built != HTTPHeaders([(name: "a", value: "1")]))
    }

    // MARK: - Request line

    @Test func leadingEmptyLinesAreIgnored() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 0)
        #expect(try parseOnce(&parser, bytes("\r")) == .incomplete(sendContinue: false))
        #expect(!parser.hasPartialRequest)
        #expect(try parseOnce(&parser, bytes("\r\n\r\n")) == .incomplete(sendContinue: false))
        #expect(!parser.hasPartialRequest)
        #expect(try parseOnce(&parser, bytes("\r\n\r\nG")) == .incomplete(sendContinue: false))
        #expect(parser.hasPartialRequest)
        let text = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
        guard case .complete(let r, let consumed) = try parseOnce(&parser, bytes(text)) else {
            Issue.record("not complete"); return
        }
        #expect(r.path == "/")
        #expect(consumed == text.utf8.count)
        let eight = String(repeating: "\r\n", count: 8) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(request(eight)?.method == "GET")
        #expect(feed(String(repeating: "\r\n", count: 9) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            == [.error(.tooManyEmptyLines)])
        #expect(feed("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n") == [.error(.badLineEnding)])
    }

    @Test(arguments: [
        ("GET  / HTTP/1.1", HTTPParseError.malformedRequestLine),
        (" GET / HTTP/1.1", .malformedRequestLine),
        ("GET /  HTTP/1.1", .malformedVersion),
        ("GET / HTTP/1.1 ", .malformedVersion),
        ("GET\t/ HTTP/1.1", .invalidMethod),
        ("G(T / HTTP/1.1", .invalidMethod),
        ("GET /a\u{7F} HTTP/1.1", .invalidTarget),
        ("GET /é HTTP/1.1", .invalidTarget),
        ("GET /a\tb HTTP/1.1", .invalidTarget),
        ("GET HTTP/1.1", .malformedRequestLine),
        ("GET /", .malformedRequestLine),
        ("GET", .malformedRequestLine),
        ("GET / ", .malformedVersion),
        ("GET foo HTTP/1.1", .invalidTarget),
        ("GET ?a HTTP/1.1", .invalidTarget),
        ("GET * HTTP/1.1", .invalidTarget),
        ("options * HTTP/1.1", .invalidTarget),
        ("OPTIONS *x HTTP/1.1", .invalidTarget),
        ("CONNECT example.com:443 HTTP/1.1", .invalidTarget),
        ("GET http:// HTTP/1.1", .invalidTarget),
        ("GET http:///p HTTP/1.1", .invalidTarget),
        ("GET ftp://h/p HTTP/1.1", .invalidTarget),
        ("GET / http/1.1", .malformedVersion),
        ("GET / HTTP/1.10", .malformedVersion),
        ("GET / HTTP/11", .malformedVersion),
        ("GET / HTTP/1.x", .malformedVersion),
        ("GET / HTTP/1", .malformedVersion),
        ("GET / HTTP/2.0", .unsupportedVersion),
        ("GET / HTTP/1.2", .unsupportedVersion),
        ("GET / HTTP/0.9", .unsupportedVersion),
        ("GET / HTTP/3.1", .unsupportedVersion),
    ])
    func invalidRequestLine(line: String, error: HTTPParseError) {
        #expect(feed(line + "\r\nHost: h\r\n\r\n") == [.error(error)])
    }

    @Test func statusesOfRequestLineErrors() {
        #expect(status("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505)
        #expect(status("GET / HTTP/2\r\nHost: h\r\n\r\n") == 400)
        #expect(status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
    }

    @Test func asteriskFormWithOptions() throws {
        let r = try #require(request("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(r.target == "*")
        #expect(r.path == "*")
        #expect(r.query == nil)
    }

    @Test(arguments: [
        ("http://example.com/v1/x?q=1", "/v1/x", "q=1" as String?),
        ("https://example.com:8443/a/b", "/a/b", nil),
        ("http://example.com", "/", nil),
        ("HTTPS://example.com?x=y/z", "/", "x=y/z"),
        ("Http://u@h:1/p?", "/p", ""),
    ])
    func absoluteForm(target: String, path: String, query: String?) throws {
        let r = try #require(request("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(r.target == target)
        #expect(r.path == path)
        #expect(r.query == query)
    }

    @Test func bareLineEndingsInTheHead() {
        #expect(feed("GET / HTTP/1.1\nHost: h\r\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\rHost: h\r\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\n\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\n\rX") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n") == [.error(.badLineEnding)])
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n") == [.error(.badLineEnding)])
    }

    // MARK: - Header fields

    @Test(arguments: [
        ("Host : h", HTTPParseError.invalidFieldName),
        ("Host\t: h", .invalidFieldName),
        (": h", .invalidFieldName),
        ("X(y): z", .invalidFieldName),
        ("Hé: z", .invalidFieldName),
        ("NoColon", .invalidFieldName),
        (" X: y", .obsoleteLineFolding),
        ("\tX: y", .obsoleteLineFolding),
        ("X: a\u{0}b", .invalidFieldValue),
        ("X: a\u{1}b", .invalidFieldValue),
        ("X: a\u{7F}b", .invalidFieldValue),
        ("X: a\u{1B}b", .invalidFieldValue),
    ])
    func invalidFieldLine(line: String, error: HTTPParseError) {
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\n\(line)\r\n\r\n") == [.error(error)])
        #expect(error.status == 400)
    }

    @Test func obsFoldContinuationLine() {
        #expect(feed("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n") == [.error(.obsoleteLineFolding)])
    }

    @Test func fieldCountLimit() throws {
        let hundred = (1...99).map { "X-\($0): v\r\n" }.joined()
        let r = try #require(request("GET / HTTP/1.1\r\nHost: h\r\n\(hundred)\r\n", maxHeaderBytes: 4096))
        #expect(r.headers.fields.count == 100)
        let outcome = feed("GET / HTTP/1.1\r\nHost: h\r\n\(hundred)X: 101\r\n\r\n", maxHeaderBytes: 4096)
        #expect(outcome == [.error(.tooManyFields)])
        #expect(HTTPParseError.tooManyFields.status == 431)
    }

    @Test func headSizeLimit() throws {
        let base = "GET / HTTP/1.1\r\nHost: h\r\nX: "
        let filler = String(repeating: "a", count: 100 - base.utf8.count - 4)
        let exact = base + filler + "\r\n\r\n"
        #expect(exact.utf8.count == 100)
        #expect(request(exact, maxHeaderBytes: 100)?.headers.first("x") == filler)
        #expect(feed(base + filler + "a\r\n\r\n", maxHeaderBytes: 100) == [.error(.headTooLarge)])
        // Leading empty lines do not count against the limit.
        #expect(request("\r\n\r\n" + exact, maxHeaderBytes: 100)?.path == "/")
        // Detected as soon as more than the limit has arrived, without waiting for the end of the head.
        var parser = HTTPRequestParser(maxHeaderBytes: 100, maxBodyBytes: 0)
        let long = bytes("GET /" + String(repeating: "a", count: 95))
        #expect(try parseOnce(&parser, long) == .incomplete(sendContinue: false))
        #expect(throws: HTTPParseError.headTooLarge) { try parseOnce(&parser, long + [0x61]) }
        #expect(HTTPParseError.headTooLarge.status == 431)
    }

    @Test func earlierSyntaxErrorWinsOverSizeLimit() {
        #expect(feed("GET / HTTP/1.1\r\nX\0: y" + String(repeating: "a", count: 200), maxHeaderBytes: 100)
            == [.error(.invalidFieldName)])
    }

    // MARK: - Host

    @Test func hostRules() throws {
        #expect(feed("GET / HTTP/1.1\r\n\r\n") == [.error(.missingHost)])
        #expect(feed("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == [.error(.multipleHosts)])
        #expect(HTTPParseError.missingHost.status == 400 && HTTPParseError.multipleHosts.status == 400)
        let r = try #require(request("GET / HTTP/1.0\r\n\r\n"))
        #expect(r.version == .http1_0)
        #expect(request("GET / HTTP/1.1\r\nHost:\r\n\r\n")?.headers.first("host") == "")
    }

    // MARK: - Framing

    @Test(arguments: [
        ("Content-Length: +5", HTTPParseError.invalidContentLength),
        ("Content-Length: -5", .invalidContentLength),
        ("Content-Length: 5 5", .invalidContentLength),
        ("Content-Length: 0x5", .invalidContentLength),
        ("Content-Length: 5.0", .invalidContentLength),
        ("Content-Length:", .invalidContentLength),
        ("Content-Length: 5,", .invalidContentLength),
        ("Content-Length: ,5", .invalidContentLength),
        ("Content-Length: 1234567890123456789", .invalidContentLength),
        ("Content-Length: 99999999999999999999999", .invalidContentLength),
        ("Content-Length: 5, 6", .conflictingContentLength),
        ("Content-Length: 5\r\nContent-Length: 6", .conflictingContentLength),
        ("Content-Length: 5\r\nTransfer-Encoding: chunked", .transferEncodingWithContentLength),
        ("Transfer-Encoding: chunked\r\nContent-Length: 5", .transferEncodingWithContentLength),
        ("Transfer-Encoding: gzip", .unsupportedTransferEncoding),
        ("Transfer-Encoding: gzip, chunked", .unsupportedTransferEncoding),
        ("Transfer-Encoding: chunked, chunked", .unsupportedTransferEncoding),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", .unsupportedTransferEncoding),
        ("Transfer-Encoding:", .unsupportedTransferEncoding),
        ("Transfer-Encoding: xchunked", .unsupportedTransferEncoding),
    ])
    func invalidFraming(field: String, error: HTTPParseError) {
        #expect(feed("POST / HTTP/1.1\r\nHost: h\r\n\(field)\r\n\r\nhello") == [.error(error)])
    }

    @Test func framingStatuses() {
        #expect(HTTPParseError.invalidContentLength.status == 400)
        #expect(HTTPParseError.conflictingContentLength.status == 400)
        #expect(HTTPParseError.transferEncodingWithContentLength.status == 400)
        #expect(HTTPParseError.transferEncodingInHTTP10.status == 400)
        #expect(HTTPParseError.unsupportedTransferEncoding.status == 501)
        #expect(HTTPParseError.bodyTooLarge.status == 413)
    }

    @Test func transferEncodingOnHTTP10() {
        #expect(feed("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            == [.error(.transferEncodingInHTTP10)])
    }

    @Test func acceptedContentLengthForms() throws {
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:  5 \r\n\r\nhello")?.body == bytes("hello"))
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,5 , 5\r\n\r\nhello")?.body == bytes("hello"))
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\ncontent-length: 5\r\n\r\nhello")?.body
            == bytes("hello"))
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")?.body == [])
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: \tChunKed \r\n\r\n0\r\n\r\n")?.body == [])
    }

    @Test func contentLengthOverLimitIsRefusedOnceTheHeadIsParsed() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 10)
        let head = bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r")
        #expect(try parseOnce(&parser, head) == .incomplete(sendContinue: false))
        #expect(throws: HTTPParseError.bodyTooLarge) { try parseOnce(&parser, head + [0x0A]) }
        #expect(feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 123456789012345678\r\n\r\n")
            == [.error(.bodyTooLarge)])
        #expect(request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", maxBodyBytes: 10)?
            .body.count == 10)
    }

    // MARK: - Chunked bodies

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let text = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value;flag\r\nhello\r\n"
            + "1 ; a=\"q;\\\" x\"\r\n \r\n"
            + "0000000000000000A\t;x\r\n0123456789\r\n"
            + "0;last\r\nX-Trailer: t\r\nChecksum: abc\r\n\r\n"
        let outcomes = feed(text)
        #expect(outcomes.count == 1)
        // 17 hex digits in the third chunk.
        #expect(outcomes == [.error(.invalidChunkSize)])
        let fixed = text.replacingOccurrences16("0000000000000000A", "000000000000000A")
        let r = try #require(request(fixed))
        #expect(r.body == bytes("hello 0123456789"))
        #expect(r.headers.first("x-trailer") == nil)  // trailers are dropped
        #expect(r.headers.fields.count == 2)
    }

    @Test func chunkedUppercaseHexAndSixteenDigits() throws {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "0000000000000010\r\n0123456789ABCDEF\r\nA\r\n0123456789\r\n0\r\n\r\n"
        #expect(request(text)?.body == bytes("0123456789ABCDEF0123456789"))
    }

    @Test(arguments: [
        ("\r\nhello\r\n0\r\n\r\n", HTTPParseError.invalidChunkSize),
        ("x\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("-5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("0x5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5 \r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("00000000000000005\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5\nhello\r\n0\r\n\r\n", .badLineEnding),
        ("5;a\nhello\r\n0\r\n\r\n", .badLineEnding),
        ("5\rhello\r\n0\r\n\r\n", .badLineEnding),
        ("5;a\u{0}\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5\r\nhelloX\r\n0\r\n\r\n", .missingChunkTerminator),
        ("5\r\nhello\rX0\r\n\r\n", .missingChunkTerminator),
        ("5\r\nhello\n0\r\n\r\n", .missingChunkTerminator),
        ("5\r\nhello\r\n0\r\n\n", .badLineEnding),
        ("5\r\nhello\r\n0\r\nX : y\r\n\r\n", .invalidFieldName),
        ("5\r\nhello\r\n0\r\nX: \u{1}\r\n\r\n", .invalidFieldValue),
        ("5\r\nhello\r\n0\r\n folded\r\n\r\n", .obsoleteLineFolding),
    ])
    func invalidChunkedBody(body: String, error: HTTPParseError) {
        #expect(feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body) == [.error(error)])
        #expect(error.status == 400)
    }

    @Test func chunkSizeLineLimit() throws {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        // 4096 bytes with the CRLF is fine; one more is not, and is refused before the line ends.
        let ext = ";" + String(repeating: "e", count: 4096 - 4)
        #expect(request(head + "5" + ext + "\r\nhello\r\n0\r\n\r\n")?.body == bytes("hello"))
        #expect(feed(head + "5" + ext + "e\r\nhello\r\n0\r\n\r\n") == [.error(.chunkLineTooLong)])
        #expect(feed(head + "5" + ext + "ee") == [.partial])
        #expect(feed(head + "5" + ext + "eee") == [.error(.chunkLineTooLong)])
        #expect(HTTPParseError.chunkLineTooLong.status == 400)
        #expect(feed(head + "5" + ext.dropLast() + "\r") == [.partial])
    }

    @Test func chunkedBodyLimit() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(request(head + "6\r\nhello \r\n4\r\nmore\r\n0\r\n\r\n", maxBodyBytes: 10)?.body.count == 10)
        // Refused as soon as the size that crosses the limit is read, before its data.
        #expect(feed(head + "6\r\nhello \r\n5;", maxBodyBytes: 10) == [.error(.bodyTooLarge)])
        #expect(feed(head + "FFFFFFFFFFFFFFFF\r\n", maxBodyBytes: 10) == [.error(.bodyTooLarge)])
    }

    @Test func trailerLimits() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        let trailer = "T: " + String(repeating: "x", count: 100 - 7) + "\r\n\r\n"
        #expect(trailer.utf8.count == 100)
        #expect(request(head + trailer, maxHeaderBytes: 100)?.body == [])
        #expect(feed(head + "T: " + String(repeating: "x", count: 200), maxHeaderBytes: 100)
            == [.error(.trailersTooLarge)])
        #expect(HTTPParseError.trailersTooLarge.status == 431)
        let many = (1...101).map { "T\($0): v\r\n" }.joined()
        #expect(feed(head + many + "\r\n", maxHeaderBytes: 4096) == [.error(.tooManyFields)])
    }

    // MARK: - Connections

    @Test func pipelinedRequests() throws {
        let first = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        let second = "POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
        let third = "GET /three HTTP/1.1\r\nHost: h\r\n\r\n"
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        var buffer = bytes(first + second + third + "GET /fo")
        var paths: [String] = []
        var bodies: [[UInt8]] = []
        while case .complete(let r, let consumed) = try parseOnce(&parser, buffer) {
            paths.append(r.path)
            bodies.append(r.body)
            #expect(!parser.hasPartialRequest)
            buffer.removeFirst(consumed)
        }
        #expect(paths == ["/one", "/two", "/three"])
        #expect(bodies == [bytes("abc"), bytes("xy"), []])
        #expect(buffer == bytes("GET /fo"))
        #expect(parser.hasPartialRequest)
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", false),
        ("HTTP/1.1", "Connection: upgrade\r\nConnection: close\r\n", false),
        ("HTTP/1.1", "Connection: closed\r\n", true),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: foo ,  Keep-Alive \r\n", true),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
        ("HTTP/1.0", "Connection: keep-alives\r\n", false),
    ])
    func keepAlive(version: String, fields: String, expected: Bool) throws {
        let r = try #require(request("GET / \(version)\r\nHost: h\r\n\(fields)\r\n"))
        #expect(r.keepAlive == expected)
    }

    @Test func expectContinueIsSignalledOnce() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let head = bytes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n")
        #expect(try parseOnce(&parser, Array(head.dropLast())) == .incomplete(sendContinue: false))
        #expect(!parser.headComplete)
        #expect(try parseOnce(&parser, head) == .incomplete(sendContinue: true))
        #expect(parser.headComplete)
        #expect(parser.hasPartialRequest)
        #expect(try parseOnce(&parser, head) == .incomplete(sendContinue: false))
        #expect(try parseOnce(&parser, head + bytes("ab")) == .incomplete(sendContinue: false))
        guard case .complete(let r, let consumed) = try parseOnce(&parser, head + bytes("abcd")) else {
            Issue.record("not complete"); return
        }
        #expect(r.body == bytes("abcd") && consumed == head.count + 4)
        #expect(!parser.headComplete)
        // The next request on the connection gets its own signal.
        #expect(try parseOnce(&parser, head) == .incomplete(sendContinue: true))
    }

    @Test func expectContinueNotSignalledWhenNotNeeded() throws {
        // Body already here, body empty, HTTP/1.0, or another expectation: no 100 Continue.
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let withBody = bytes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
        guard case .complete = try parseOnce(&parser, withBody) else { Issue.record("not complete"); return }
        let empty = bytes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
        guard case .complete = try parseOnce(&parser, empty) else { Issue.record("not complete"); return }
        let old = bytes("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(try parseOnce(&parser, old) == .incomplete(sendContinue: false))
        parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let other = bytes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n")
        #expect(try parseOnce(&parser, other) == .incomplete(sendContinue: false))
        parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let chunked = bytes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try parseOnce(&parser, chunked) == .incomplete(sendContinue: true))
        #expect(try parseOnce(&parser, chunked + bytes("1\r\n")) == .incomplete(sendContinue: false))
    }

    @Test func partialAndHeadCompleteStates() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let text = bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
        #expect(try parseOnce(&parser, []) == .incomplete(sendContinue: false))
        #expect(!parser.hasPartialRequest)
        #expect(try parseOnce(&parser, Array(text.prefix(1))) == .incomplete(sendContinue: false))
        #expect(parser.hasPartialRequest && !parser.headComplete)
        #expect(try parseOnce(&parser, Array(text.dropLast())) == .incomplete(sendContinue: false))
        #expect(parser.hasPartialRequest && parser.headComplete)
        guard case .complete = try parseOnce(&parser, text) else { Issue.record("not complete"); return }
        #expect(!parser.hasPartialRequest && !parser.headComplete)
    }

    @Test func errorReasonsNeverEchoTheRequest() {
        let secret = "sk-secret-value"
        let inputs = [
            "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: \(secret)\u{1}\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(secret)\r\n\r\n",
            "GET /\(secret)\u{7F} HTTP/1.1\r\n\r\n",
            "\(secret)( / HTTP/1.1\r\n\r\n",
        ]
        for input in inputs {
            guard case .error(let e)? = feed(input).last else { Issue.record("no error for \(input)"); continue }
            #expect(!e.reason.contains("secret"))
            #expect(e.status == 400)
        }
    }

    // MARK: - Incremental feeding

    static let corpus: [String] = [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "\r\n\r\nGET /a?b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.0\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\n!!!\r\n0\r\nT: v\r\n\r\n"
            + "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://h/x?y HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 300) + "\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 300) + "\u{0}\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nab",
        "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHo",
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 4200) + "\r\n",
    ]

    @Test(arguments: corpus)
    func feedingInPiecesGivesTheSameOutcome(text: String) {
        let data = bytes(text)
        let whole = feed([data], maxHeaderBytes: 256, maxBodyBytes: 1024)
        #expect(!whole.isEmpty)
        for split in 0...data.count {
            let pieces = feed([Array(data[..<split]), Array(data[split...])], maxHeaderBytes: 256, maxBodyBytes: 1024)
            #expect(pieces == whole, "split at \(split)")
            if pieces != whole { return }
        }
        let trickled = feed(data.map { [$0] }, maxHeaderBytes: 256, maxBodyBytes: 1024)
        #expect(trickled == whole)
    }

    @Test func corpusOutcomesAreThoseExpected() {
        let outcomes = Self.corpus.map { text -> String in
            feed([bytes(text)], maxHeaderBytes: 256, maxBodyBytes: 1024).map { outcome in
                switch outcome {
                case .request(let r, _): return r.path
                case .error(let e): return String(e.status)
                case .partial: return "partial"
                }
            }.joined(separator: " ")
        }
        #expect(outcomes == [
            "/", "/a", "/p /next", "/c *", "/x 400", "400", "400", "505", "431", "431", "413",
            "partial", "400", "501", "/ /after", "partial", "/ partial", "400", "400",
        ])
    }

    /// One byte per call must stay linear: a quadratic parser would take minutes here.
    @Test func tricklingIsLinear() throws {
        let value = String(repeating: "v", count: 200_000)
        let head = "POST / HTTP/1.1\r\nHost: h\r\nX-Big: \(value)\r\nTransfer-Encoding: chunked\r\n\r\n"
        let chunk = String(repeating: "c", count: 100_000)
        let text = head + "186a0;" + String(repeating: "e", count: 4000) + "\r\n\(chunk)\r\n0\r\n\r\n"
        let data = bytes(text)
        var parser = HTTPRequestParser(maxHeaderBytes: 300_000, maxBodyBytes: 200_000)
        var result: HTTPRequestParser.Result = .incomplete(sendContinue: false)
        try data.withUnsafeBytes { all in
            for end in 1...all.count {
                result = try parser.parse(UnsafeRawBufferPointer(rebasing: all[..<end]))
            }
        }
        guard case .complete(let r, let consumed) = result else { Issue.record("not complete"); return }
        #expect(consumed == data.count)
        #expect(r.body.count == 100_000)
        #expect(r.headers.first("x-big")?.utf8.count == 200_000)
    }
}

extension String {
    /// Foundation-free replace, enough for test fixtures.
    fileprivate func replacingOccurrences16(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
