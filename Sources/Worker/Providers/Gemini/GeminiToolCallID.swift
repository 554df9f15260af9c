/// OpenAI tool-call ids for Gemini function calls.
///
/// Gemini's calls usually have no id, and a thinking model attaches an opaque `thoughtSignature`
/// to them that must come back unchanged with the call in the next request (Gemini 3 answers 400
/// without it). The gateway keeps no state between requests, so the id the client sees carries
/// both, and the client hands them back by quoting the id in its history:
///
///     call_<requestID>_<index>[__gid__<Gemini's own id>][__thought__<signature>]
///
/// (`_<candidate>_<index>` for the second and later candidates of `n > 1`). The signature is
/// written in unpadded URL-safe base64 so that the id stays within `[A-Za-z0-9_-]`, the
/// characters other providers accept in tool ids (Anthropic's pattern), and is turned back into
/// the standard base64 Gemini sent when it returns; it is found after the last marker.
enum GeminiToolCallID {
    static let signatureMarker = "__thought__"
    static let geminiIDMarker = "__gid__"

    static func make(requestID: String, candidate: Int, index: Int, geminiID: String?, signature: String?) -> String {
        var id = "call_" + requestID + (candidate == 0 ? "_\(index)" : "_\(candidate)_\(index)")
        if let geminiID, !geminiID.isEmpty { id += geminiIDMarker + geminiID }
        if let signature, isBase64(signature) { id += signatureMarker + urlSafe(signature) }
        return id
    }

    /// What an id made by `make` carries; ids made elsewhere (another provider's) carry nothing.
    static func parse(_ id: String) -> (geminiID: String?, signature: String?) {
        var rest = Array(id.utf8)
        var signature: String?
        if let marker = lastRange(of: Array(signatureMarker.utf8), in: rest) {
            let tail = String(decoding: rest[marker.upperBound...], as: UTF8.self)
            if isBase64(tail) {
                signature = standard(tail)
                rest.removeSubrange(marker.lowerBound...)
            }
        }
        var geminiID: String?
        if let marker = firstRange(of: Array(geminiIDMarker.utf8), in: rest), marker.upperBound < rest.count {
            geminiID = String(decoding: rest[marker.upperBound...], as: UTF8.self)
        }
        return (geminiID, signature)
    }

    /// Standard or URL-safe base64, as Gemini writes `bytes` fields in JSON.
    static func isBase64(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="),
                    UInt8(ascii: "-"), UInt8(ascii: "_"):
                    true
                default: false
                }
            }
    }

    /// `+/` as `-_`, padding removed.
    static func urlSafe(_ base64: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(base64.utf8.count)
        for byte in base64.utf8 {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Standard base64 with its padding, as proto3 JSON writes `bytes`.
    static func standard(_ base64: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(base64.utf8.count + 3)
        for byte in base64.utf8 {
            switch byte {
            case UInt8(ascii: "-"): bytes.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "="): continue
            default: bytes.append(byte)
            }
        }
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start..<start + needle.count
        }
        return nil
    }

    private static func lastRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for start in stride(from: haystack.count - needle.count, through: 0, by: -1)
        where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start..<start + needle.count
        }
        return nil
    }
}
