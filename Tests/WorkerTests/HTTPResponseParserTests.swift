import Testing

@testable import Worker

/// The parser of providers' answers, fed as a connection would feed it: whole, and cut at every
/// point into two reads.
struct HTTPResponseParserTests {
    struct Read: Equatable {
        var status = 0
        var headers: [UpstreamRequest.Header] = []
        var keepAlive = true
        var body = ""
        var complete = false
        var leftover = 0
        var error: UpstreamParseError?
    }

    /// Feeds `text` in pieces cut at `cuts`, then (if it is not over) closes the connection.
    static func read(_ text: String, cuts: [Int] = [], close: Bool = true) -> Read {
        let bytes = Array(text.utf8)
        var parser = HTTPResponseParser()
        var result = Read()
        var body: [UInt8] = []
        var start = 0
        for end in cuts + [bytes.count] {
            while start < end && !parser.isComplete {
                do {
                    start += try bytes[start..<end].withUnsafeBytes { try parser.parse($0, body: &body) }
                } catch {
                    result.error = error as? UpstreamParseError
                    return result
                }
            }
        }
        result.leftover = bytes.count - start
        if close && !parser.isComplete {
            do { try parser.peerClosed() } catch { result.error = error }
        }
        result.status = parser.status
        result.headers = parser.headers
        result.keepAlive = parser.keepAlive
        result.body = String(decoding: body, as: UTF8.self)
        result.complete = parser.isComplete
        return result
    }

    static func expectSameAtEverySplit(_ text: String) -> Read {
        let whole = read(text)
        for cut in 0...text.utf8.count {
            #expect(read(text, cuts: [cut]) == whole, "split at \(cut)")
        }
        return whole
    }

    @Test func aBodyOfKnownLengthEndsTheResponseAndKeepsTheConnection() {
        let read = Self.expectSameAtEverySplit(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"model\":\"x\"}HTTP/1.1")
        #expect(read == Read(status: 200, headers: [], keepAlive: true, body: "{\"model\":\"x\"}", complete: true, leftover: 8))
    }

    @Test func chunksWithExtensionsAndTrailersAreJoined() {
        let read = Self.expectSameAtEverySplit(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6;name=value\r\ndata: \r\nA\nabcdefghij\n0\r\nX-Checksum: 1\r\n\r\n")
        #expect(read.body == "data: abcdefghij")
        #expect(read.complete && read.keepAlive && read.error == nil)
    }

    @Test func anErrorAnswerKeepsItsHeaders() {
        let read = Self.expectSameAtEverySplit(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after:  7 \r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        #expect(read.status == 429)
        #expect(read.headers.contains(.init("retry-after", "7")))
        #expect(!read.keepAlive)
        #expect(read.body == "{}")
    }

    @Test func aBodyWithoutFramingRunsToTheClose() {
        let read = Self.expectSameAtEverySplit("HTTP/1.0 200 OK\r\n\r\nall of it")
        #expect(read == Read(status: 200, keepAlive: false, body: "all of it", complete: true))
        #expect(Self.read("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\npart", close: false).complete == false)
    }

    @Test func interimAnswersAreSkipped() {
        let read = Self.expectSameAtEverySplit(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        #expect(read.status == 204 && read.complete && read.body.isEmpty)
    }

    @Test func theParserStopsAfterTheHeadSoTheStatusCanBeSeenFirst() throws {
        let bytes = Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc".utf8)
        var parser = HTTPResponseParser()
        var body: [UInt8] = []
        let used = try bytes.withUnsafeBytes { try parser.parse($0, body: &body) }
        #expect(used == bytes.count - 3 && parser.headComplete && body.isEmpty)
    }

    @Test func aCloseBeforeAnyByteCanBeRetriedAndACutIsAnError() {
        #expect(Self.read("").error == .closedBeforeResponse)
        #expect(Self.read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").error == .cutShort)
        #expect(Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").error == .cutShort)
        #expect(Self.read("HTTP/1.1 200").error == .cutShort)
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ])
    func malformedAnswersAreRefused(_ text: String) {
        guard case .malformed(let reason)? = Self.read(text).error else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test func aHeadLargerThanTheLimitIsRefused() {
        let text = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"
        #expect(Self.read(text).error == .malformed("the response head is too large"))
        #expect(Self.read(text, cuts: [100, 200, 60_000]).error == .malformed("the response head is too large"))
    }
}
