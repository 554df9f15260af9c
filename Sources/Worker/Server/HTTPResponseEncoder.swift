/// Serializes response heads, bodies and chunks into bytes. Pure, so every framing rule is unit
/// tested without a socket.
struct HTTPResponseEncoder {
    /// Whether the connection stays open after this response.
    var keepAlive: Bool
    /// HTTP/1.0 clients get no chunked framing: a stream to them is delimited by closing.
    var clientIsHTTP10: Bool
    var date: String

    /// A whole response with Content-Length.
    func encode(_ response: HTTPResponse, headRequest: Bool = false) -> [UInt8] {
        var out = head(status: response.status, headers: response.headers, framing: .length(response.body.count))
        if !headRequest { out.append(contentsOf: response.body) }
        return out
    }

    enum Framing {
        case length(Int)
        /// Chunked; `trailers` are announced in a `Trailer:` header.
        case chunked(trailers: [String])
        /// No length: the body ends when the connection closes (HTTP/1.0 streams).
        case untilClose
    }

    /// The framing a stream gets for this client.
    func streamFraming(trailers: [String]) -> Framing {
        clientIsHTTP10 ? .untilClose : .chunked(trailers: trailers)
    }

    func head(status: Int, headers: [(name: String, value: String)], framing: Framing) -> [UInt8] {
        // Written straight into bytes: this runs for every response.
        var out: [UInt8] = []
        out.reserveCapacity(160 + headers.count * 40)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(0x20)
        out.append(contentsOf: HTTPStatus.reason(status).utf8)
        out.append(contentsOf: "\r\nDate: ".utf8)
        out.append(contentsOf: date.utf8)
        out.append(contentsOf: "\r\nServer: llm0-gateway\r\n".utf8)
        for (name, value) in headers { Self.appendField(name, value, to: &out) }
        var closes = !keepAlive
        switch framing {
        case .length(let count):
            Self.appendField("Content-Length", String(count), to: &out)
        case .chunked(let trailers):
            out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
            if !trailers.isEmpty { Self.appendField("Trailer", trailers.joined(separator: ", "), to: &out) }
        case .untilClose:
            closes = true
        }
        if closes {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if clientIsHTTP10 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    private static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: ": ".utf8)
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: "\r\n".utf8)
    }

    /// One chunk of a stream body (nothing for an empty piece: a zero-size chunk would end it).
    func chunk(_ bytes: [UInt8], framing: Framing) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        guard case .chunked = framing else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 20)
        var shift = (Int.bitWidth - bytes.count.leadingZeroBitCount + 3) / 4 * 4
        repeat {  // the size in hex, without building a String
            shift -= 4
            let digit = UInt8((bytes.count >> shift) & 0xF)
            out.append(digit < 10 ? 0x30 + digit : 0x57 + digit)
        } while shift > 0
        out.append(contentsOf: [13, 10])
        out.append(contentsOf: bytes)
        out.append(contentsOf: [13, 10])
        return out
    }

    /// The end of a stream body, with trailer fields when the framing carries them.
    func end(trailers: [(name: String, value: String)], framing: Framing) -> [UInt8] {
        guard case .chunked = framing else { return [] }
        var text = "0\r\n"
        for (name, value) in trailers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}
