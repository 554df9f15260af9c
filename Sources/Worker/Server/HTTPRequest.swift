/// The protocol version of a request. The parser only ever produces 1.0 and 1.1.
struct HTTPVersion: Equatable, Sendable {
    var major: Int
    var minor: Int

    static let http1_0 = HTTPVersion(major: 1, minor: 0)
    static let http1_1 = HTTPVersion(major: 1, minor: 1)
}

/// Header fields in arrival order, names spelled as sent; lookups match names ASCII case-insensitively.
struct HTTPHeaders: Sendable, Sequence, Equatable {
    var fields: [(name: String, value: String)] = []

    /// The value of the first field called `name`, if any.
    func first(_ name: String) -> String? {
        for field in fields where Self.namesMatch(field.name, name) {
            return field.value
        }
        return nil
    }

    /// The values of every field called `name`, in arrival order.
    func all(_ name: String) -> [String] {
        var values: [String] = []
        for field in fields where Self.namesMatch(field.name, name) {
            values.append(field.value)
        }
        return values
    }

    /// Whether a field called `name` is present.
    func contains(_ name: String) -> Bool {
        fields.contains { Self.namesMatch($0.name, name) }
    }

    /// Appends a field after the existing ones.
    mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Field names are tokens, so folding ASCII letters is the whole of case-insensitivity.
    private static func namesMatch(_ a: String, _ b: String) -> Bool {
        // Most fields are told apart by their length alone (O(1) for native strings).
        guard a.utf8.count == b.utf8.count else { return false }
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil):
                return true
            case let (x?, y?):
                if x != y && asciiLower(x) != asciiLower(y) { return false }
            default:
                return false
            }
        }
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}

extension HTTPHeaders {
    /// Headers holding `fields`, in order (the memberwise `init(fields:)` and `init()` remain).
    init(_ fields: [(name: String, value: String)]) {
        self.init(fields: fields)
    }
}

/// One complete HTTP/1.x request as read from a client, body de-chunked.
struct HTTPRequest: Sendable, Equatable {
    /// The method as sent, e.g. "GET" (a token; methods are case-sensitive).
    var method: String
    /// The request-target exactly as sent.
    var target: String
    /// The target without its query; for absolute-form "http://h/p?q" this is "/p" ("/" if empty),
    /// for asterisk-form it is "*".
    var path: String
    /// What follows the first "?" in the target, nil if there is no "?".
    var query: String?
    var version: HTTPVersion
    var headers: HTTPHeaders
    /// The body, de-chunked; empty when the request has neither Content-Length nor Transfer-Encoding.
    var body: [UInt8]
    /// Whether the connection may carry another request after this one.
    var keepAlive: Bool
}
