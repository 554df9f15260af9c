/// A JSON document as the gateway handles it: parsed once from the client, edited or
/// translated, serialized once. Numbers keep their literal text, so a value passes through
/// unchanged (no float rounding), and objects keep their key order, so output is deterministic.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    // MARK: - Reading

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { n } else { nil } }
    public var intValue: Int? { numberValue?.intValue }
    public var doubleValue: Double? { numberValue?.doubleValue }
    public var isNull: Bool { self == .null }

    /// The member `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        get { objectValue?[key] }
    }

    /// A name for the value's type, as used in error messages ("a string", "an array").
    public var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: - Building

    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
}

/// A JSON number, kept as its literal text.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    /// `text` must be a valid JSON number literal (the parser guarantees it).
    public init(literal text: String) { self.text = text }
    public init(_ value: Int) { text = String(value) }
    public init(_ value: Double) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            text = String(Int(value))
        } else {
            text = value.isFinite ? String(value) : "0"
        }
    }

    public var intValue: Int? {
        if let exact = Int(text) { return exact }
        guard let double = Double(text), double == double.rounded(), abs(double) < 9.0e18 else { return nil }
        return Int(double)
    }
    public var doubleValue: Double? { Double(text) }
    public var description: String { text }
}

/// A JSON object with its keys in order. Objects in LLM payloads are small, so lookups scan.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var fields: [(key: String, value: JSONValue)]

    public init() { fields = [] }
    public init(_ fields: [(key: String, value: JSONValue)]) { self.fields = fields }

    public var isEmpty: Bool { fields.isEmpty }
    public var count: Int { fields.count }
    public var keys: [String] { fields.map(\.key) }

    /// Reads a member; setting one replaces it in place or appends it; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get {
            for field in fields.reversed() where field.key == key { return field.value }
            return nil
        }
        set {
            if let index = fields.lastIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { fields.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
