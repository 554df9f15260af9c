import Testing

@testable import Worker

@Suite("Secrets")
struct SecretsTests {
    /// FIPS 180-2's test vectors (one block, two blocks), the empty input, and a gateway-shaped
    /// key (the migrations' test key, as `printf %s gw_test_abc123 | sha256sum` gives it): every
    /// stored key hash depends on these bytes never changing.
    @Test(arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("gw_test_abc123", "75e69c7e00a482131c0ecbc6925ce189b59799811d870978d8c0e54256068957"),
    ])
    func sha256IsLowercaseHex(text: String, hex: String) {
        #expect(Secrets.sha256Hex(text) == hex)
    }

    @Test func comparisonNeedsEqualBytes() {
        #expect(Secrets.constantTimeEqual("gw_abc", "gw_abc"))
        #expect(!Secrets.constantTimeEqual("gw_abc", "gw_abd"))
        #expect(!Secrets.constantTimeEqual("gw_abc", "gw_abcd"))
    }
}
