/// Byte-level pieces of the HTTP/1.1 grammar (RFC 9110/9112) that the request parser applies to raw
/// buffers. Stateless; every function reads only the bytes it is given.
enum HTTPSyntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C
    static let question: UInt8 = 0x3F
    static let slash: UInt8 = 0x2F
    static let star: UInt8 = 0x2A

    /// tchar: "!#$%&'*+-.^_`|~", digits and letters, as a 128-bit map so the hot loops touch no table.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (0x03FF_6CFA_0000_0000 as UInt64) >> byte & 1 != 0 }
        if byte < 128 { return (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (byte &- 64) & 1 != 0 }
        return false
    }

    /// HTAB, SP, VCHAR and obs-text: what may appear inside a field value or a chunk extension.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == htab
    }

    /// Visible ASCII, the alphabet of a request-target.
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte &- 0x21 < 0x5E
    }

    /// The first offset in `i..<end` that is not a field-value byte, or `end`. Eight bytes at a time:
    /// a word is clean unless some byte is below 0x20 (HTAB included; the byte loop sorts it out) or
    /// is DEL. Bytes from 0x80 up are obs-text and pass.
    @inline(__always)
    static func skipFieldValueBytes(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var i = start
        while end - i >= 8 {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let del = word ^ 0x7F7F_7F7F_7F7F_7F7F
            let flags = ((word &- 0x2020_2020_2020_2020) & ~word) | ((del &- 0x0101_0101_0101_0101) & ~del)
            if flags & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < end && isFieldValueByte(p[i]) { i += 1 }
        return i
    }

    /// The first offset in `i..<end` that is not a target byte (visible ASCII), or `end`; also stops
    /// at "?" when asked. Eight bytes at a time, as in `skipFieldValueBytes`.
    @inline(__always)
    static func skipTargetBytes(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, stoppingAtQuestionMark: Bool
    ) -> Int {
        var i = start
        while end - i >= 8 {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let question = word ^ 0x3F3F_3F3F_3F3F_3F3F
            var flags = ((word &- 0x2121_2121_2121_2121) & ~word)  // below 0x21
                | ((word &+ 0x0101_0101_0101_0101) | word)  // above 0x7E
            if stoppingAtQuestionMark { flags |= (question &- 0x0101_0101_0101_0101) & ~question }
            if flags & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < end {
            let byte = p[i]
            guard isTargetByte(byte) && !(stoppingAtQuestionMark && byte == question) else { break }
            i += 1
        }
        return i
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == sp || byte == htab
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte &- 0x30
        case 0x41...0x46: return byte &- 0x37
        case 0x61...0x66: return byte &- 0x57
        default: return nil
        }
    }

    /// Whether `count` bytes at `bytes` equal `lowercase` ignoring ASCII case. OR-ing 0x20 folds only
    /// letters onto the literals used here; the other bytes it could map onto them are CTLs, which never
    /// reach this point.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafePointer<UInt8>, _ count: Int, _ lowercase: StaticString)
        -> Bool
    {
        guard count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for k in 0..<count where bytes[k] | 0x20 != expected[k] {
            return false
        }
        return true
    }

    @inline(__always)
    static func string(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    /// Whether `count` bytes at `bytes` are exactly `literal`.
    @inline(__always)
    static func equals(_ bytes: UnsafePointer<UInt8>, _ count: Int, _ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && memoryEquals(bytes, literal.utf8Start, count)
    }

    @inline(__always)
    private static func memoryEquals(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for k in 0..<count where a[k] != b[k] { return false }
        return true
    }

    /// The method as a String, sharing a literal's storage for the common ones (making a String from
    /// bytes costs more than all the comparisons here).
    @inline(__always)
    static func method(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
        let p = base + start
        switch end - start {
        case 3 where equals(p, 3, "GET"): return "GET"
        case 4 where equals(p, 4, "POST"): return "POST"
        default: return string(base, start, end)
        }
    }

    /// A field name as a String, spelled exactly as sent; the names most clients send, in their
    /// usual spellings, come from literals instead of being built byte by byte.
    @inline(__always)
    static func fieldName(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
        let p = base + start
        switch end - start {
        case 4:
            if equals(p, 4, "Host") { return "Host" }
            if equals(p, 4, "host") { return "host" }
        case 6:
            if equals(p, 6, "Accept") { return "Accept" }
            if equals(p, 6, "accept") { return "accept" }
        case 10:
            if equals(p, 10, "User-Agent") { return "User-Agent" }
            if equals(p, 10, "Connection") { return "Connection" }
            if equals(p, 10, "user-agent") { return "user-agent" }
            if equals(p, 10, "connection") { return "connection" }
        case 12:
            if equals(p, 12, "Content-Type") { return "Content-Type" }
            if equals(p, 12, "content-type") { return "content-type" }
        case 13:
            if equals(p, 13, "Authorization") { return "Authorization" }
            if equals(p, 13, "authorization") { return "authorization" }
        case 14:
            if equals(p, 14, "Content-Length") { return "Content-Length" }
            if equals(p, 14, "content-length") { return "content-length" }
        case 15:
            if equals(p, 15, "Accept-Encoding") { return "Accept-Encoding" }
            if equals(p, 15, "accept-encoding") { return "accept-encoding" }
        default:
            break
        }
        return string(base, start, end)
    }

    /// "HTTP/1.1" or "HTTP/1.0" in `base[start..<end]`; another "HTTP/d.d" is 505, anything else 400.
    static func version(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(HTTPParseError)
        -> HTTPVersion
    {
        let v = base + start
        guard end - start == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == slash,
            v[6] == 0x2E, v[5] &- 0x30 < 10, v[7] &- 0x30 < 10
        else { throw .malformedVersion }
        guard v[5] == 0x31, v[7] == 0x31 || v[7] == 0x30 else { throw .unsupportedVersion }
        return v[7] == 0x31 ? .http1_1 : .http1_0
    }

    /// A Content-Length value: 1*DIGIT, or a comma list of identical such numbers, at most 18 digits
    /// each so that it cannot overflow.
    static func contentLength(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(HTTPParseError)
        -> Int
    {
        var result = -1
        var k = start
        while true {
            while k < end && isWhitespace(base[k]) { k += 1 }
            let digitsStart = k
            var value = 0
            while k < end, base[k] &- 0x30 < 10 {
                value = value &* 10 &+ Int(base[k] &- 0x30)
                k += 1
            }
            guard k > digitsStart, k - digitsStart <= 18 else { throw .invalidContentLength }
            while k < end && isWhitespace(base[k]) { k += 1 }
            guard result < 0 || result == value else { throw .conflictingContentLength }
            result = value
            if k == end { return result }
            guard base[k] == comma else { throw .invalidContentLength }
            k += 1
        }
    }

    /// Calls `body` with each element of a comma-separated list, whitespace trimmed, empty ones skipped.
    @inline(__always)
    static func forEachListElement(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
        _ body: (UnsafePointer<UInt8>, Int) -> Void
    ) {
        var k = start
        while k < end {
            while k < end && (isWhitespace(base[k]) || base[k] == comma) { k += 1 }
            let elementStart = k
            while k < end && base[k] != comma { k += 1 }
            var elementEnd = k
            while elementEnd > elementStart && isWhitespace(base[elementEnd - 1]) { elementEnd -= 1 }
            if elementEnd > elementStart { body(base + elementStart, elementEnd - elementStart) }
        }
    }

    /// The path of an absolute-form target ("http://host/p" or "https://host/p", scheme in any case)
    /// whose query has been cut off at `end`; "/" when empty. The authority must not be empty.
    static func absoluteFormPath(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(HTTPParseError)
        -> String
    {
        let authorityStart: Int
        if end - start > 7 && equalsIgnoringCase(base + start, 7, "http://") {
            authorityStart = start + 7
        } else if end - start > 8 && equalsIgnoringCase(base + start, 8, "https://") {
            authorityStart = start + 8
        } else {
            throw .invalidTarget
        }
        var authorityEnd = authorityStart
        while authorityEnd < end && base[authorityEnd] != slash { authorityEnd += 1 }
        guard authorityEnd > authorityStart else { throw .invalidTarget }
        return authorityEnd < end ? string(base, authorityEnd, end) : "/"
    }
}
