import COpenSSL

/// Hashing, comparison and generation of secrets, all through OpenSSL.
enum Secrets {
    /// Lowercase hex SHA-256 of `text`'s UTF-8 bytes: how keys are stored and looked up (once
    /// per request, for the key cache, so nothing here allocates but the result).
    static func sha256Hex(_ text: String) -> String {
        var text = text
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            text.withUTF8 { bytes in copenssl_sha256(bytes.baseAddress, bytes.count, digest.baseAddress) }
            return hex(UnsafeBufferPointer(digest))
        }
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
        bytes.withUnsafeBufferPointer { hex($0) }
    }

    static func hex(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = hexDigit(byte >> 4)
                out[2 * index + 1] = hexDigit(byte & 0xF)
            }
            return bytes.count * 2
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? 0x30 + value : 0x57 + value }

    /// A new gateway key: `gw_` and 40 hex characters (160 random bits).
    static func newGatewayKey() -> String { "gw_" + randomHex(bytes: 20) }
}
