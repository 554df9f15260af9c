/// An incremental HTTP/1.1 request parser for network-facing sockets (RFC 9112, strict where
/// leniency would allow request smuggling).
///
/// Call `parse` with the connection's unconsumed bytes each time more arrive. The parser remembers
/// how far it got (the byte it stopped at, the head parsed so far, the chunk state and the body
/// collected so far), so a request trickled in byte by byte costs O(n) in total. It is a resumable
/// state machine that visits each byte once; Strings are made only for the method, the target and
/// the header fields.
struct HTTPRequestParser: Sendable {
    /// What one call to `parse` found.
    enum Result: Equatable, Sendable {
        /// More bytes are needed. `sendContinue` is true in exactly one call per request: the one in
        /// which an HTTP/1.1 head carrying "Expect: 100-continue" completed while its body had not
        /// fully arrived.
        case incomplete(sendContinue: Bool)
        /// One whole request; the first `consumed` bytes of the input belong to it.
        case complete(HTTPRequest, consumed: Int)
    }

    private enum Phase: UInt8 {
        case leading, leadingLF
        case method, targetPath, targetQuery, version, requestLineLF
        case fieldStart, fieldName, fieldValueStart, fieldValue, fieldLF, sectionEndLF
        case fixedBody
        case chunkSize, chunkSizeWhitespace, chunkExtension, chunkSizeLF, chunkData, chunkDataCR, chunkDataLF
    }

    /// Empty lines tolerated before a request line (RFC 9112 §2.2 asks for at least one).
    static let maxEmptyLines = 8
    /// Header fields per section; the 101st is answered with 431.
    static let maxFields = 100
    /// A chunk-size line, extensions and CRLF included.
    static let maxChunkLineBytes = 4096

    let maxHeaderBytes: Int
    let maxBodyBytes: Int

    private var phase = Phase.leading
    /// The next byte to examine, as an offset into the buffer (which starts at the current request).
    private var position = 0
    private var emptyLines = 0
    /// Where the head (or the trailer section) must have ended by; beyond it is 431.
    private var sectionLimit = 0
    private var inTrailers = false
    private var fieldCount = 0

    private var requestStart = 0
    private var targetStart = 0
    private var queryStart = -1
    private var versionStart = 0
    private var fieldStart = 0
    private var nameEnd = 0
    private var valueStart = 0
    private var valueEnd = 0

    private var method = ""
    private var target = ""
    private var path = ""
    private var query: String? = nil
    private var version = HTTPVersion.http1_1
    private var headers = HTTPHeaders()

    private var framing = HTTPFraming()
    private var contentLength = 0
    private var continuePending = false

    private var bodyStart = 0
    private var body: [UInt8] = []
    private var chunkLineLimit = 0
    private var chunkSize: UInt64 = 0
    private var chunkDigits = 0
    private var chunkRemaining = 0

    /// The current request's head has been parsed; its body may still be pending.
    private(set) var headComplete = false

    /// Some byte of the current request, other than ignored leading CRLFs, has been seen and the
    /// request has not completed: the connection is mid-request rather than idle.
    var hasPartialRequest: Bool {
        phase != .leading && phase != .leadingLF
    }

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        // Clamped so that offset arithmetic can never overflow.
        self.maxHeaderBytes = min(max(maxHeaderBytes, 0), 1 << 40)
        self.maxBodyBytes = min(max(maxBodyBytes, 0), 1 << 40)
    }

    /// Parses as much of the current request as `bytes` holds.
    ///
    /// `bytes` always starts at the first unconsumed byte of the connection; between calls the caller
    /// only appends to it (after `.incomplete`) or drops the first `consumed` bytes (after `.complete`).
    /// Only the first complete request is returned; pipelined bytes after it wait for the next call.
    /// After a throw the connection must be closed.
    mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Result {
        let count = bytes.count
        guard count > position, let base = bytes.baseAddress else {
            return .incomplete(sendContinue: false)
        }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = position
        // Kept in a register: the phases of one line follow each other by `fallthrough`, so a line
        // that is all there costs one dispatch. A phase is only stored back when bytes run out.
        var phase = self.phase
        scan: while true {
            switch phase {
            case .leading:
                guard i < count else { break scan }
                let byte = p[i]
                if byte == HTTPSyntax.cr {
                    guard emptyLines < Self.maxEmptyLines else { throw .tooManyEmptyLines }
                    i += 1
                    phase = .leadingLF
                    continue scan
                }
                guard byte != HTTPSyntax.lf else { throw .badLineEnding }
                requestStart = i
                sectionLimit = i + maxHeaderBytes
                phase = .method
                fallthrough

            case .method:
                let end = min(count, sectionLimit)
                while i < end && HTTPSyntax.isTokenByte(p[i]) { i += 1 }
                guard i < end else { try checkSectionLimit(count); break scan }
                let byte = p[i]
                guard byte == HTTPSyntax.sp, i > requestStart else {
                    throw byte == HTTPSyntax.sp || byte == HTTPSyntax.cr || byte == HTTPSyntax.lf
                        ? .malformedRequestLine : .invalidMethod
                }
                method = HTTPSyntax.method(p, requestStart, i)
                i += 1
                targetStart = i
                phase = .targetPath
                fallthrough

            case .targetPath:
                let end = min(count, sectionLimit)
                i = HTTPSyntax.skipTargetBytes(p, i, end, stoppingAtQuestionMark: true)
                guard i < end else { try checkSectionLimit(count); break scan }
                if p[i] == HTTPSyntax.question {
                    i += 1
                    queryStart = i
                    phase = .targetQuery
                    continue scan
                }
                try finishTarget(p, end: i)
                i += 1
                versionStart = i
                phase = .version
                fallthrough

            case .version:
                let end = min(count, sectionLimit)
                while i < end && p[i] != HTTPSyntax.cr && i - versionStart < 8 { i += 1 }
                guard i < end else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.cr else {
                    throw p[i] == HTTPSyntax.lf ? .badLineEnding : .malformedVersion
                }
                version = try HTTPSyntax.version(p, versionStart, i)
                i += 1
                phase = .requestLineLF
                fallthrough

            case .requestLineLF:
                guard i < min(count, sectionLimit) else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.lf else { throw .badLineEnding }
                i += 1
                phase = .fieldStart
                fallthrough

            case .fieldStart:
                guard i < min(count, sectionLimit) else { try checkSectionLimit(count); break scan }
                let byte = p[i]
                if byte == HTTPSyntax.cr {
                    i += 1
                    phase = .sectionEndLF
                    continue scan
                }
                guard !HTTPSyntax.isWhitespace(byte) else { throw .obsoleteLineFolding }
                guard byte != HTTPSyntax.lf else { throw .badLineEnding }
                fieldStart = i
                phase = .fieldName
                fallthrough

            case .fieldName:
                let end = min(count, sectionLimit)
                while i < end && HTTPSyntax.isTokenByte(p[i]) { i += 1 }
                guard i < end else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.colon, i > fieldStart else { throw .invalidFieldName }
                nameEnd = i
                i += 1
                phase = .fieldValueStart
                fallthrough

            case .fieldValueStart:
                let end = min(count, sectionLimit)
                while i < end && HTTPSyntax.isWhitespace(p[i]) { i += 1 }
                guard i < end else { try checkSectionLimit(count); break scan }
                valueStart = i
                phase = .fieldValue
                fallthrough

            case .fieldValue:
                let end = min(count, sectionLimit)
                i = HTTPSyntax.skipFieldValueBytes(p, i, end)
                guard i < end else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.cr else {
                    throw p[i] == HTTPSyntax.lf ? .badLineEnding : .invalidFieldValue
                }
                var trimmedEnd = i
                while trimmedEnd > valueStart && HTTPSyntax.isWhitespace(p[trimmedEnd - 1]) { trimmedEnd -= 1 }
                valueEnd = trimmedEnd
                i += 1
                phase = .fieldLF
                fallthrough

            case .fieldLF:
                guard i < min(count, sectionLimit) else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.lf else { throw .badLineEnding }
                i += 1
                try commitField(p)
                phase = .fieldStart

            case .leadingLF:
                guard i < count else { break scan }
                guard p[i] == HTTPSyntax.lf else { throw .badLineEnding }
                i += 1
                emptyLines += 1
                phase = .leading

            case .targetQuery:
                let end = min(count, sectionLimit)
                i = HTTPSyntax.skipTargetBytes(p, i, end, stoppingAtQuestionMark: false)
                guard i < end else { try checkSectionLimit(count); break scan }
                try finishTarget(p, end: i)
                i += 1
                versionStart = i
                phase = .version

            case .sectionEndLF:
                guard i < min(count, sectionLimit) else { try checkSectionLimit(count); break scan }
                guard p[i] == HTTPSyntax.lf else { throw .badLineEnding }
                i += 1
                if inTrailers { return complete(consumed: i) }
                guard let next = try finishHead(at: i) else { return complete(consumed: i) }
                phase = next

            case .fixedBody:
                guard count - bodyStart >= contentLength else { i = count; break scan }
                body = Array(UnsafeBufferPointer(start: p + bodyStart, count: contentLength))
                return complete(consumed: bodyStart + contentLength)

            case .chunkSize:
                let end = min(count, chunkLineLimit)
                while i < end, let digit = HTTPSyntax.hexValue(p[i]) {
                    guard chunkDigits < 16 else { throw .invalidChunkSize }
                    chunkSize = chunkSize << 4 | UInt64(digit)
                    chunkDigits += 1
                    i += 1
                }
                guard i < end else { try checkChunkLineLimit(count); break scan }
                guard chunkDigits > 0 else { throw .invalidChunkSize }
                // The size is known now: refuse an oversized body before any of it arrives.
                guard chunkSize <= UInt64(maxBodyBytes - body.count) else { throw .bodyTooLarge }
                let byte = p[i]
                i += 1
                switch byte {
                case HTTPSyntax.cr: phase = .chunkSizeLF
                case HTTPSyntax.semicolon: phase = .chunkExtension
                case HTTPSyntax.sp, HTTPSyntax.htab: phase = .chunkSizeWhitespace
                case HTTPSyntax.lf: throw .badLineEnding
                default: throw .invalidChunkSize
                }

            case .chunkSizeWhitespace:
                // BWS is allowed before a chunk extension, and only there.
                let end = min(count, chunkLineLimit)
                while i < end && HTTPSyntax.isWhitespace(p[i]) { i += 1 }
                guard i < end else { try checkChunkLineLimit(count); break scan }
                guard p[i] == HTTPSyntax.semicolon else { throw .invalidChunkSize }
                i += 1
                phase = .chunkExtension

            case .chunkExtension:
                // Extensions are ignored, but must stay within the line limit and the field-value alphabet.
                let end = min(count, chunkLineLimit)
                i = HTTPSyntax.skipFieldValueBytes(p, i, end)
                guard i < end else { try checkChunkLineLimit(count); break scan }
                guard p[i] == HTTPSyntax.cr else {
                    throw p[i] == HTTPSyntax.lf ? .badLineEnding : .invalidChunkExtension
                }
                i += 1
                phase = .chunkSizeLF

            case .chunkSizeLF:
                guard i < min(count, chunkLineLimit) else { try checkChunkLineLimit(count); break scan }
                guard p[i] == HTTPSyntax.lf else { throw .badLineEnding }
                i += 1
                if chunkSize == 0 {
                    inTrailers = true
                    fieldCount = 0
                    sectionLimit = i + maxHeaderBytes
                    phase = .fieldStart
                } else {
                    chunkRemaining = Int(chunkSize)
                    phase = .chunkData
                }

            case .chunkData:
                let available = min(chunkRemaining, count - i)
                if available > 0 {
                    body.append(contentsOf: UnsafeBufferPointer(start: p + i, count: available))
                    i += available
                    chunkRemaining -= available
                }
                guard chunkRemaining == 0 else { break scan }
                phase = .chunkDataCR

            case .chunkDataCR:
                guard i < count else { break scan }
                guard p[i] == HTTPSyntax.cr else { throw .missingChunkTerminator }
                i += 1
                phase = .chunkDataLF

            case .chunkDataLF:
                guard i < count else { break scan }
                guard p[i] == HTTPSyntax.lf else { throw .missingChunkTerminator }
                i += 1
                phase = startChunkLine(at: i)
            }
        }
        self.phase = phase
        position = i
        let sendContinue = continuePending
        continuePending = false
        return .incomplete(sendContinue: sendContinue)
    }

    // MARK: - Steps

    private func checkSectionLimit(_ count: Int) throws(HTTPParseError) {
        if count > sectionLimit { throw inTrailers ? .trailersTooLarge : .headTooLarge }
    }

    private func checkChunkLineLimit(_ count: Int) throws(HTTPParseError) {
        if count > chunkLineLimit { throw .chunkLineTooLong }
    }

    private mutating func startChunkLine(at i: Int) -> Phase {
        chunkSize = 0
        chunkDigits = 0
        chunkLineLimit = i + Self.maxChunkLineBytes
        return .chunkSize
    }

    /// Records the target (ending at `end`, exclusive) and splits it into path and query.
    private mutating func finishTarget(_ p: UnsafePointer<UInt8>, end: Int) throws(HTTPParseError) {
        let start = targetStart
        let byte = p[end]
        guard byte == HTTPSyntax.sp, end > start else {
            throw byte == HTTPSyntax.sp || byte == HTTPSyntax.cr || byte == HTTPSyntax.lf
                ? .malformedRequestLine : .invalidTarget
        }
        let pathEnd = queryStart >= 0 ? queryStart - 1 : end
        target = HTTPSyntax.string(p, start, end)
        if queryStart >= 0 { query = HTTPSyntax.string(p, queryStart, end) }
        switch p[start] {
        case HTTPSyntax.slash:
            path = queryStart >= 0 ? HTTPSyntax.string(p, start, pathEnd) : target
        case HTTPSyntax.star:
            // asterisk-form is only for server-wide OPTIONS (methods are case-sensitive).
            guard end - start == 1, method == "OPTIONS" else { throw .invalidTarget }
            path = "*"
        default:
            path = try HTTPSyntax.absoluteFormPath(p, start, pathEnd)
        }
    }

    /// Notes what the framing and connection handling need from the field just read, then keeps it.
    private mutating func commitField(_ p: UnsafePointer<UInt8>) throws(HTTPParseError) {
        fieldCount += 1
        guard fieldCount <= Self.maxFields else { throw .tooManyFields }
        if inTrailers { return }  // trailers are syntax-checked and counted, then dropped
        try framing.note(p, name: fieldStart, nameEnd, value: valueStart, valueEnd)
        if headers.fields.isEmpty { headers.fields.reserveCapacity(16) }
        headers.fields.append(
            (name: HTTPSyntax.fieldName(p, fieldStart, nameEnd), value: HTTPSyntax.string(p, valueStart, valueEnd)))
    }

    /// Applies the framing rules once the head has ended at `i`. Returns the phase that reads the
    /// body, or nil if the request has none and is therefore complete.
    private mutating func finishHead(at i: Int) throws(HTTPParseError) -> Phase? {
        headComplete = true
        bodyStart = i
        let next: Phase
        switch try framing.body(version: version, maxBodyBytes: maxBodyBytes) {
        case .none:
            return nil
        case .length(let length):
            contentLength = length
            next = .fixedBody
        case .chunked:
            next = startChunkLine(at: i)
        }
        continuePending = framing.wantsContinue(version: version)
        return next
    }

    /// Hands out the finished request and resets for the next one.
    private mutating func complete(consumed: Int) -> Result {
        let keepAlive = framing.keepAlive(version: version)
        let request = HTTPRequest(
            method: method, target: target, path: path, query: query, version: version,
            headers: headers, body: body, keepAlive: keepAlive)
        self = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        return .complete(request, consumed: consumed)
    }
}
