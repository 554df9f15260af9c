import Foundation
import Testing

/// Providers over HTTPS: the gateway's own TLS client verifies the certificate against the
/// trusted authorities (here the test CA, through SSL_CERT_FILE) and the host name or address,
/// reuses its TLS connections, and refuses a certificate it cannot trust.
@Suite(.serialized)
struct UpstreamTLSTests {
    static func start(trustTestCA: Bool) throws -> (GatewayProcess, MockUpstream) {
        let mock = try MockUpstream(tls: true)
        let tlsPort = mock.tlsPort!
        var environment = mock.environment
        // By name for OpenAI (looked up, then checked against the certificate's DNS name), by
        // address for Anthropic (checked against its IP address).
        environment["OPENAI_BASE_URL"] = "https://localhost:\(tlsPort)/v1"
        environment["ANTHROPIC_BASE_URL"] = "https://127.0.0.1:\(tlsPort)"
        environment["WORKERS"] = "1"
        // An empty directory stands in for the system's store, so only SSL_CERT_FILE counts.
        environment["SSL_CERT_DIR"] = FileManager.default.temporaryDirectory.path
        environment["SSL_CERT_FILE"] = trustTestCA ? MockUpstream.tlsFile("ca.pem") : "/nonexistent/ca.pem"
        let gateway = try GatewayProcess(environment: environment)
        gateway.companions.append(mock)
        return (gateway, mock)
    }

    @Test func answersComeOverVerifiedTLSAndConnectionsAreReused() throws {
        let (gateway, mock) = try Self.start(trustTestCA: true)
        for model in ["gpt-4o-mini", "claude-sonnet-4-5", "gpt-4o-mini", "claude-sonnet-4-5"] {
            let response = try call(port: gateway.port, "POST", "/v1/chat/completions",
                headers: [ChatCompletionTests.key, "X-LLM0-Failover: off"], body: ChatCompletionTests.chat(model))
            #expect(response.status == 200, "\(model): \(response.text)")
            #expect((response.json["choices"] as? [[String: Any]])?.isEmpty == false)
        }
        let stream = try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: [ChatCompletionTests.key, "X-LLM0-Failover: off"], body: ChatCompletionTests.chat(stream: true))
        #expect(stream.status == 200)
        #expect(stream.text.hasSuffix("data: [DONE]\n\n"))
        // Two origins (localhost and 127.0.0.1), each connection kept for the next request.
        let connections = try mock.stats()["connections"] as? [String: Any]
        #expect((connections?["opened"] as? Int ?? 99) <= 2 + 2, "\(connections ?? [:])")
    }

    @Test func aCertificateThatIsNotTrustedFailsTheCall() throws {
        let (gateway, mock) = try Self.start(trustTestCA: false)
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: [ChatCompletionTests.key, "X-LLM0-Failover: off"], body: ChatCompletionTests.chat())
        #expect(response.status == 502)
        #expect(response.error["code"] as? String == "upstream_connection_error")
        let message = response.error["message"] as? String ?? ""
        #expect(message.contains("TLS handshake failed"), "\(message)")
        #expect(try mock.requests().isEmpty, "nothing may be sent to a peer that was not verified")
    }
}
