import COpenSSL

/// Hashing, comparison and generation of secrets, all through OpenSSL.
enum Secrets {
    /// Lowercase hex SHA-256 of `text`'s UTF-8 bytes: how keys are stored and looked up.
    static func sha256Hex(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var bytes = Array(text.utf8)
        _ = SHA256(&bytes, bytes.count, &digest)
        return hex(digest)
    }

    /// Compares in time that depends only on the lengths, so a guess learns nothing from timing.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        var left = Array(a.utf8)
        var right = Array(b.utf8)
        guard left.count == right.count else { return false }
        return CRYPTO_memcmp(&left, &right, left.count) == 0
    }

    /// `count` bytes from OpenSSL's CSPRNG, as lowercase hex.
    static func randomHex(bytes count: Int) -> String {
        var buffer = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&buffer, Int32(count)) == 1, "the system random generator failed")
        return hex(buffer)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A new gateway key: `gw_` and 40 hex characters (160 random bits).
    static func newGatewayKey() -> String { "gw_" + randomHex(bytes: 20) }
}
