import Testing

@testable import Worker

struct SSEDecoderTests {
    static let stream = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: line one\ndata: line two\n\nid: 7\nretry: 10\ndata:no-space\r\rdata: [DONE]\n\n"
    static let expected = [
        SSEEvent(event: "message_start", data: "{\"a\":1}"), SSEEvent(event: nil, data: "line one\nline two"),
        SSEEvent(event: nil, data: "no-space"), SSEEvent(event: nil, data: "[DONE]"),
    ]

    @Test func decodesEveryLineEnding() {
        var decoder = SSEDecoder()
        #expect(decoder.consume(Array(Self.stream.utf8)) == Self.expected)
    }

    @Test func anySplitGivesTheSameEvents() {
        let bytes = Array(Self.stream.utf8)
        for split in 0...bytes.count {
            var decoder = SSEDecoder()
            let events = decoder.consume(bytes[..<split]) + decoder.consume(bytes[split...])
            #expect(events == Self.expected, "split at \(split)")
        }
        var decoder = SSEDecoder()
        #expect(bytes.flatMap { decoder.consume([$0]) } == Self.expected)
    }

    @Test func aLastEventWithoutBlankLineIsReportedByFinish() {
        var decoder = SSEDecoder()
        #expect(decoder.consume(Array("data: partial".utf8)).isEmpty)
        #expect(decoder.finish() == SSEEvent(event: nil, data: "partial"))
    }
}

struct ResponseEncoderTests {
    let encoder = HTTPResponseEncoder(keepAlive: true, clientIsHTTP10: false, date: "Thu, 03 Dec 2026 10:00:00 GMT")

    @Test func wholeResponsesCarryTheirLength() {
        let bytes = encoder.encode(HTTPResponse(status: 200, headers: [("X-A", "1")], body: Array("hi".utf8)))
        #expect(String(decoding: bytes, as: UTF8.self)
            == "HTTP/1.1 200 OK\r\nDate: Thu, 03 Dec 2026 10:00:00 GMT\r\nServer: llm0-gateway\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi")
        let head = encoder.encode(HTTPResponse(status: 200, body: Array("hi".utf8)), headRequest: true)
        #expect(String(decoding: head, as: UTF8.self).hasSuffix("Content-Length: 2\r\n\r\n"))
    }

    @Test func streamsAreChunkedWithTrailers() {
        let framing = encoder.streamFraming(trailers: ["X-Cost-USD"])
        let head = String(decoding: encoder.head(status: 200, headers: [], framing: framing), as: UTF8.self)
        #expect(head.contains("Transfer-Encoding: chunked\r\nTrailer: X-Cost-USD\r\n"))
        #expect(String(decoding: encoder.chunk(Array("data: x\n\n".utf8), framing: framing), as: UTF8.self) == "9\r\ndata: x\n\n\r\n")
        #expect(encoder.chunk([], framing: framing).isEmpty)
        #expect(String(decoding: encoder.end(trailers: [("X-Cost-USD", "0.1")], framing: framing), as: UTF8.self)
            == "0\r\nX-Cost-USD: 0.1\r\n\r\n")
    }

    @Test func http10StreamsEndByClosing() {
        let old = HTTPResponseEncoder(keepAlive: true, clientIsHTTP10: true, date: "d")
        let framing = old.streamFraming(trailers: ["X-Cost-USD"])
        let head = String(decoding: old.head(status: 200, headers: [], framing: framing), as: UTF8.self)
        #expect(head.contains("Connection: close"))
        #expect(!head.contains("chunked"))
        #expect(old.chunk([1, 2], framing: framing) == [1, 2])
        #expect(old.end(trailers: [("a", "b")], framing: framing).isEmpty)
        let closing = HTTPResponseEncoder(keepAlive: false, clientIsHTTP10: false, date: "d")
        #expect(String(decoding: closing.encode(HTTPResponse(status: 404)), as: UTF8.self).contains("Connection: close\r\n"))
    }
}
