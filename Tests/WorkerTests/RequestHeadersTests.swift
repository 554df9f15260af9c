import Testing

@testable import Worker

@Suite("RequestHeaders")
struct RequestHeadersTests {
    static func request(authorization: String?) -> HTTPRequest {
        HTTPRequest(
            method: "POST", target: "/v1/chat/completions", path: "/v1/chat/completions", query: nil,
            version: .http1_1, headers: HTTPHeaders(authorization.map { [(name: "Authorization", value: $0)] } ?? []),
            body: [], keepAlive: true)
    }

    @Test(arguments: [
        ("Bearer gw_abc", "gw_abc"), ("bearer gw_abc", "gw_abc"), ("BEARER gw_abc", "gw_abc"),
        ("Bearer    gw_abc  ", "gw_abc"), ("  Bearer gw_abc", "gw_abc"), ("Bearer a b", "a b"),
        ("Bearer " + String(repeating: "k", count: 512), String(repeating: "k", count: 512)),
    ])
    func aBearerTokenIsRead(header: String, token: String) {
        #expect(RequestHeaders.bearerToken(Self.request(authorization: header)) == token)
    }

    @Test(arguments: [
        "Bearer", "Bearer ", "Bearer\tgw_abc", "Bearergw_abc", "Bearex gw_abc", "Basic dXNlcjpwYXNz", "gw_abc",
        "", "Bearer " + String(repeating: "k", count: 513), "B\u{e9}arer gw_abc",
    ])
    func anythingElseIsNoToken(header: String) {
        #expect(RequestHeaders.bearerToken(Self.request(authorization: header)) == nil)
    }

    @Test func noHeaderIsNoToken() {
        #expect(RequestHeaders.bearerToken(Self.request(authorization: nil)) == nil)
    }
}
