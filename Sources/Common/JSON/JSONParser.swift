/// Why a JSON text was refused, with the byte offset where it went wrong.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser over bytes: no comments, no trailing commas, valid UTF-8 only, and a
/// nesting limit so hostile input cannot exhaust the stack.
public struct JSONParser {
    public static let defaultMaxDepth = 128

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth)
        }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSONValue
    {
        var parser = JSONParser(bytes: bytes.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    /// Parses a JSON object but builds only the members named in `keep`; every other member is
    /// checked just as strictly and skipped without allocating. For answers the gateway passes on
    /// as they are and reads a few fields of. `kinds` holds, for each member named in `kindsOf`,
    /// the first byte of its value (`[` for an array, `{` for an object, `"` for a string, ...).
    /// The name lists are short, so they are arrays: comparing a few short strings is cheaper
    /// than hashing each member's name.
    public static func parseMembers(
        _ bytes: [UInt8], keep: [String], kindsOf: [String] = [], maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> (kept: JSONObject, kinds: [String: UInt8]) {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
            parser.skipWhitespace()
            guard parser.position < buffer.count, buffer[parser.position] == UInt8(ascii: "{") else {
                throw parser.error("expected a JSON object")
            }
            let result = try parser.parseMembers(keep: keep, kindsOf: kindsOf)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return result
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var position = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func error(_ reason: String) -> JSONParseError { JSONParseError(offset: position, reason: reason) }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of JSON") }
        for index in 0..<count where bytes[position + index] != literal.utf8Start[index] {
            throw error("invalid literal")
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONObject {
        guard depth <= maxDepth else { throw error("JSON nested too deeply") }
        position += 1
        var fields: [(key: String, value: JSONValue)] = []
        fields.reserveCapacity(8)  // one allocation for the usual small object, not four growths
        // A repeated key replaces the earlier value in place (the last one wins). Small objects
        // look for it by scanning; past `scanLimit` members an index by name takes over, so a
        // hostile object with a million members costs linear time, not quadratic.
        let scanLimit = 8
        var indexByKey: [String: Int] = [:]
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return JSONObject(fields)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let key = try parseKey()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            let existing = fields.count <= scanLimit ? fields.firstIndex { $0.key == key } : indexByKey[key]
            if let existing {
                fields[existing].value = value
            } else {
                fields.append((key, value))
                if fields.count == scanLimit + 1 {
                    for (index, field) in fields.enumerated() { indexByKey[field.key] = index }
                } else if fields.count > scanLimit + 1 {
                    indexByKey[key] = fields.count - 1
                }
            }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return JSONObject(fields)
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> [JSONValue] {
        guard depth <= maxDepth else { throw error("JSON nested too deeply") }
        position += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return array
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return array
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    private mutating func parseMembers(keep: [String], kindsOf: [String]) throws(JSONParseError)
        -> (kept: JSONObject, kinds: [String: UInt8])
    {
        position += 1
        var kept = JSONObject()
        var kinds: [String: UInt8] = [:]
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return (kept, kinds)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseKey()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON") }
            if kindsOf.contains(key) { kinds[key] = bytes[position] }
            if keep.contains(key) {
                kept[key] = try parseValue(depth: 1)
            } else {
                try skipValue(depth: 1)
            }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return (kept, kinds)
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    /// Checks one value as `parseValue` would, without building it.
    private mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            guard depth + 1 <= maxDepth else { throw error("JSON nested too deeply") }
            position += 1
            skipWhitespace()
            if position < bytes.count && bytes[position] == close {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                        throw error("expected a string key")
                    }
                    try skipString()
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    position += 1
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw error("unexpected end of JSON") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == close {
                    position += 1
                    return
                } else {
                    throw error(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw error("unexpected character")
        }
    }

    /// Checks a string as `parseString` would (escapes, surrogates, UTF-8), without building it.
    private mutating func skipString() throws(JSONParseError) {
        position += 1
        var segment = position
        var isASCII = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                if !isASCII { try validateUTF8(segment..<position) }
                position += 1
                if byte == UInt8(ascii: "\"") { return }
                guard position < bytes.count else { break }
                _ = try parseEscape()
                segment = position
                isASCII = true
                continue
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte >= 0x80 { isASCII = false }
            position += 1
        }
        throw error("unterminated string")
    }

    private func validateUTF8(_ range: Range<Int>) throws(JSONParseError) {
        var iterator = UnsafeBufferPointer(rebasing: bytes[range]).makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return
            case .error: throw error("invalid UTF-8 in string")
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let range = try scanNumber()
        return JSONNumber(literal: String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    /// The extent of a number literal, checked against JSON's grammar.
    private mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(bytes[position]) {
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        } else {
            throw error("invalid number")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        guard position - start <= 64 else { throw error("number literal too long") }
        return start..<position
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// A member name. Plain ASCII without escapes, which is nearly every name, is read in one
    /// pass; anything else goes through `parseString`. Names of up to 15 bytes are stored inline in
    /// the String; the longer ones the providers send in every answer (`completion_tokens`,
    /// `prompt_tokens_details`, ...) come from `KnownKeys` instead of a new allocation each time.
    private mutating func parseKey() throws(JSONParseError) -> String {
        let start = position + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let name = UnsafeBufferPointer(rebasing: bytes[start..<end])
                position = end + 1
                if name.count > 15, let known = KnownKeys.match(name) { return known }
                return String(decoding: name, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            end += 1
        }
        return try parseString()
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, which is most strings; pure ASCII needs no UTF-8 validation.
        var isASCII = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                if isASCII { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return text
            }
            if byte >= 0x80 { isASCII = false }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            position += 1
        }
        var scalars: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<min(position, bytes.count)]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                guard let text = String(validating: scalars, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return text
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != UInt8(ascii: "\\") {
                scalars.append(byte)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { break }
            UTF8.encode(try parseEscape()) { scalars.append($0) }
        }
        throw error("unterminated string")
    }

    /// One escape sequence, the backslash already read: the scalar it stands for. A `\u` high
    /// surrogate must be followed by an escaped low one.
    private mutating func parseEscape() throws(JSONParseError) -> Unicode.Scalar {
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            var code = try parseHex4()
            if code >= 0xD800 && code < 0xDC00 {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw error("unpaired surrogate in string") }
                position += 2
                let low = try parseHex4()
                guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate in string") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if code >= 0xDC00 && code < 0xE000 {
                throw error("unpaired surrogate in string")
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("invalid escape") }
            return scalar
        default:
            throw error("invalid escape")
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
