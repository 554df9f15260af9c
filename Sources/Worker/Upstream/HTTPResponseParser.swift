#if canImport(Glibc)
import Glibc
#endif

/// Reads one HTTP/1.1 response from a provider as its bytes arrive, in pieces of any size: the
/// head (status, framing, keep-alive, and the headers of an error answer), then the body with
/// its framing removed (Content-Length, chunked, or up to the close). Interim 1xx answers are
/// skipped. Pure: no I/O, so it is tested with byte strings and fuzzed (scripts/fuzz-upstream).
struct HTTPResponseParser {
    private enum State: Equatable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailer
        case untilClose
        case done
    }

    /// The final answer's status (0 until its head is read).
    private(set) var status = 0
    /// Whether the connection may carry another request once this response is read.
    private(set) var keepAlive = true
    /// The headers of a non-2xx answer (Retry-After, the provider's details); a success's are
    /// not kept.
    private(set) var headers: [UpstreamRequest.Header] = []
    private(set) var headComplete = false
    var isComplete: Bool { state == .done }

    private var state = State.head
    /// A head, chunk-size line or trailer line that spans reads.
    private var pending: [UInt8] = []
    /// Where the head line being gathered in `pending` begins.
    private var headLineStart = 0
    private var trailerBytes = 0
    private let maxHeadBytes: Int
    private static let maxLineBytes = 4096
    private static let maxHeaders = 200

    init(maxHeadBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Consumes bytes, appending body bytes to `body`. Returns how many bytes were used: all of
    /// them, unless the head has just been completed (the caller then looks at the status before
    /// the body) or the response ended (anything after it is not part of it).
    mutating func parse(_ bytes: UnsafeRawBufferPointer, body: inout [UInt8]) throws(UpstreamParseError) -> Int {
        var offset = 0
        while offset < bytes.count {
            switch state {
            case .head:
                let wasComplete = headComplete
                offset += try parseHead(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                if headComplete && !wasComplete { return offset }
            case .fixed(let remaining):
                let take = min(remaining, bytes.count - offset)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                state = remaining == take ? .done : .fixed(remaining: remaining - take)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.count - offset)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                state = remaining == take ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkSize, .chunkDataEnd, .trailer:
                guard let newline = bytes.index(of: 0x0A, from: offset) else {
                    try gather(UnsafeRawBufferPointer(rebasing: bytes[offset...]), limit: Self.maxLineBytes)
                    return bytes.count
                }
                let rest = UnsafeRawBufferPointer(rebasing: bytes[offset..<newline])
                offset = newline + 1
                if pending.isEmpty {
                    try endOfLine(rest.withoutCR)
                } else {
                    try gather(rest, limit: Self.maxLineBytes)
                    try withPending { parser, line throws(UpstreamParseError) in try parser.endOfLine(line.withoutCR) }
                }
            case .untilClose:
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                offset = bytes.count
            case .done:
                return offset
            }
        }
        return offset
    }

    /// The provider closed the connection: that ends a body read up to the close; anywhere else
    /// the response was cut short.
    mutating func peerClosed() throws(UpstreamParseError) {
        switch state {
        case .done: return
        case .untilClose:
            state = .done
            keepAlive = false
        case .head where status == 0 && pending.isEmpty:
            throw .closedBeforeResponse
        default:
            throw .cutShort
        }
    }

    // MARK: - Lines (chunk sizes, chunk ends, trailers)

    /// Keeps bytes of a line or head that continues in the next read.
    private mutating func gather(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(UpstreamParseError) {
        pending.append(contentsOf: bytes)
        if pending.count > limit { throw .malformed("a line of the response is too long") }
    }

    /// Runs `body` on the gathered bytes, then empties them (keeping their buffer).
    private mutating func withPending(
        _ body: (inout HTTPResponseParser, UnsafeRawBufferPointer) throws(UpstreamParseError) -> Void
    ) throws(UpstreamParseError) {
        // Moved out while `body` runs: it may change the parser, which must not overlap an
        // access to one of its own properties.
        var gathered: [UInt8] = []
        swap(&gathered, &pending)
        defer {
            gathered.removeAll(keepingCapacity: true)
            swap(&gathered, &pending)
        }
        let failure: UpstreamParseError? = gathered.withUnsafeBytes { buffer in
            do throws(UpstreamParseError) {
                try body(&self, buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private mutating func endOfLine(_ line: UnsafeRawBufferPointer) throws(UpstreamParseError) {
        switch state {
        case .chunkSize:
            var size = 0
            var digits = 0
            for byte in line {
                guard let value = Self.hexValue(byte) else {
                    // Chunk extensions (";name=value") and spaces before them are allowed.
                    if byte == UInt8(ascii: ";") || byte == 0x20 || byte == 0x09 { break }
                    throw .malformed("a chunk size is not hexadecimal")
                }
                digits += 1
                guard digits <= 15 else { throw .malformed("a chunk size is too large") }
                size = size << 4 | value
            }
            guard digits > 0 else { throw .malformed("a chunk size is missing") }
            state = size == 0 ? .trailer : .chunkData(remaining: size)
        case .chunkDataEnd:
            guard line.isEmpty else { throw .malformed("a chunk is longer than its size") }
            state = .chunkSize
        case .trailer:
            trailerBytes += line.count
            guard trailerBytes <= maxHeadBytes else { throw .malformed("the trailer is too large") }
            if line.isEmpty { state = .done }
        default:
            break
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }

    // MARK: - The head

    /// Consumes head bytes; returns how many. Reads the head straight from `bytes` when it is
    /// whole there (the usual case), else gathers it in `pending`.
    private mutating func parseHead(_ bytes: UnsafeRawBufferPointer) throws(UpstreamParseError) -> Int {
        if pending.isEmpty {
            var lineStart = 0
            if let end = Self.endOfHead(bytes, lineStart: &lineStart) {
                guard end <= maxHeadBytes else { throw .malformed("the response head is too large") }
                try readHead(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
                return end
            }
        }
        let before = pending.count
        try gather(bytes, limit: maxHeadBytes + bytes.count)
        var lineStart = headLineStart
        let end = pending.withUnsafeBytes { Self.endOfHead($0, lineStart: &lineStart) }
        guard let end else {
            headLineStart = lineStart
            if pending.count > maxHeadBytes { throw .malformed("the response head is too large") }
            return bytes.count
        }
        guard end <= maxHeadBytes else { throw .malformed("the response head is too large") }
        headLineStart = 0
        // Whatever follows the head in `pending` came from `bytes`: it is handed back unused.
        try withPending { parser, gathered throws(UpstreamParseError) in
            try parser.readHead(UnsafeRawBufferPointer(rebasing: gathered[..<end]))
        }
        return end - before
    }

    /// The index just past the blank line that ends a head. `lineStart` is where the line being
    /// read began; it is kept between reads so a head that arrives in pieces is searched once.
    private static func endOfHead(_ bytes: UnsafeRawBufferPointer, lineStart: inout Int) -> Int? {
        while let index = bytes.index(of: 0x0A, from: lineStart) {
            let length = index - lineStart - (index > lineStart && bytes[index - 1] == 0x0D ? 1 : 0)
            if length == 0 && lineStart > 0 { return index + 1 }
            lineStart = index + 1
        }
        return nil
    }

    /// Reads a whole head: the status line, then the fields that matter.
    private mutating func readHead(_ head: UnsafeRawBufferPointer) throws(UpstreamParseError) {
        var lines = HeadLines(head)
        guard let statusLine = lines.next() else { throw .malformed("the status line is missing") }
        let (minor, code) = try Self.statusLine(statusLine)
        var contentLength: Int?
        var chunked = false
        var otherCoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var kept: [UpstreamRequest.Header] = []
        let keepHeaders = !(200...299).contains(code)
        while let line = lines.next() {
            if line.isEmpty { break }
            guard let colon = line.base.index(of: UInt8(ascii: ":"), from: line.startIndex, to: line.endIndex),
                colon > line.startIndex
            else {
                throw .malformed("a header line has no name")
            }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            let value = UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]).trimmed()
            if name.equalsLowercased("content-length") {
                guard let length = Self.decimal(value) else { throw .malformed("the Content-Length is not a number") }
                if let contentLength, contentLength != length { throw .malformed("two different Content-Lengths") }
                contentLength = length
            } else if name.equalsLowercased("transfer-encoding") {
                // Only the last coding frames the body; chunked anywhere else is not valid.
                var lastIsChunked = false
                Self.forEachToken(value) { lastIsChunked = $0.equalsLowercased("chunked") }
                if lastIsChunked { chunked = true } else { otherCoding = true }
            } else if name.equalsLowercased("connection") {
                Self.forEachToken(value) { token in
                    if token.equalsLowercased("close") { connectionClose = true }
                    if token.equalsLowercased("keep-alive") { connectionKeepAlive = true }
                }
            }
            if keepHeaders && kept.count < Self.maxHeaders {
                kept.append(.init(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        }
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        if code >= 100 && code < 200 {
            guard code != 101 else { throw .malformed("the provider switched protocols") }
            return
        }
        status = code
        headers = kept
        headComplete = true
        keepAlive = minor >= 1 ? !connectionClose : connectionKeepAlive
        if code == 204 || code == 304 {
            state = .done
        } else if chunked && !otherCoding {
            state = .chunkSize
        } else if otherCoding {
            state = .untilClose
            keepAlive = false
        } else if let contentLength {
            state = contentLength == 0 ? .done : .fixed(remaining: contentLength)
        } else {
            state = .untilClose
            keepAlive = false
        }
    }

    /// "HTTP/1.1 200 OK" → (1, 200).
    private static func statusLine(_ line: Slice<UnsafeRawBufferPointer>) throws(UpstreamParseError) -> (minor: Int, code: Int) {
        let bytes = UnsafeRawBufferPointer(rebasing: line)
        guard bytes.count >= 12, bytes.starts(with: "HTTP/1.".utf8), bytes[8] == 0x20,
            (0x30...0x39).contains(bytes[7])
        else { throw .malformed("the status line is not HTTP/1.x") }
        var code = 0
        for index in 9..<12 {
            guard (0x30...0x39).contains(bytes[index]) else { throw .malformed("the status code is not three digits") }
            code = code * 10 + Int(bytes[index] - 0x30)
        }
        guard bytes.count == 12 || bytes[12] == 0x20, code >= 100 else { throw .malformed("the status code is not valid") }
        return (Int(bytes[7] - 0x30), code)
    }

    /// Calls `body` with each non-empty comma-separated element of a field value, trimmed; read
    /// in place, since every response has one such field or two.
    private static func forEachToken(_ value: Slice<UnsafeRawBufferPointer>, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = value.startIndex
        while start < value.endIndex {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
            if end > start { body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(rebasing: value[start..<end]).trimmed())) }
            start = end + 1
        }
    }

    private static func decimal(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}

/// The lines of a head, without their line ends (CRLF or a bare LF).
private struct HeadLines {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next() -> Slice<UnsafeRawBufferPointer>? {
        guard offset < bytes.count else { return nil }
        let end = bytes.index(of: 0x0A, from: offset) ?? bytes.count
        var lineEnd = end
        if lineEnd > offset && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        defer { offset = end + 1 }
        return bytes[offset..<lineEnd]
    }
}

extension UnsafeRawBufferPointer {
    /// The first `byte` in `from..<to` (to the end by default). memchr reads many bytes a step,
    /// where a loop over the subscript reads one: a head is scanned for line ends and colons on
    /// every response.
    func index(of byte: UInt8, from start: Int, to end: Int? = nil) -> Int? {
        let end = end ?? count
        guard start < end, let base = baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(byte), end - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The bytes without surrounding spaces, tabs, CR and LF.
    func trimmed() -> Slice<UnsafeRawBufferPointer> {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isHTTPWhitespace { start += 1 }
        while end > start, self[end - 1].isHTTPWhitespace { end -= 1 }
        return self[start..<end]
    }

    /// The bytes without a final CR.
    var withoutCR: UnsafeRawBufferPointer {
        count > 0 && self[count - 1] == 0x0D ? UnsafeRawBufferPointer(rebasing: self[..<(count - 1)]) : self
    }

    /// Whether these bytes spell `lowercase` in any case (`lowercase` is lower-case ASCII).
    func equalsLowercased(_ lowercase: StaticString) -> Bool {
        guard count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<count {
            var byte = self[index]
            if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }
}

extension UInt8 {
    /// Space, tab, CR or LF.
    var isHTTPWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0D || self == 0x0A }
}

/// Why a provider's response could not be read.
enum UpstreamParseError: Error, Equatable {
    /// The connection closed before any byte of a response (a kept-alive connection the
    /// provider had closed: the request may be sent again on a new one).
    case closedBeforeResponse
    /// The connection closed in the middle of the response.
    case cutShort
    case malformed(String)
}
