import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The repository's mock provider (scripts/mock-upstream), speaking OpenAI's, Anthropic's and
/// Gemini's real wire formats, with fault injection. Started per test on its own port.
final class MockUpstream {
    private(set) var process: ChildProcess!
    let port: Int
    private(set) var tlsPort: Int?

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// With `tls`, the mock also answers HTTPS on `tlsPort` with Tests/IntegrationTests/TLS's
    /// certificate (for localhost and 127.0.0.1, signed by that folder's test CA).
    init(tls: Bool = false) throws {
        port = freePort()
        var arguments = [
            "/usr/bin/env", "python3",
            Self.repositoryRoot.appendingPathComponent("scripts/mock-upstream/mock_upstream.py").path,
            "--port", String(port), "--host", "127.0.0.1",
        ]
        if tls {
            let port = freePort()
            tlsPort = port
            arguments += [
                "--tls-port", String(port), "--tls-cert", Self.tlsFile("server.pem"), "--tls-key", Self.tlsFile("server-key.pem"),
            ]
        }
        process = try ChildProcess(arguments, environment: ProcessInfo.processInfo.environment)
        let ready = eventually(timeout: 10) { (try? call(port: port, "GET", "/__mock/health").status) == 200 }
        guard ready else { throw GatewayTestError.notServing("the mock upstream did not start") }
    }


    /// A file of the test certificate authority's folder.
    static func tlsFile(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/IntegrationTests/TLS/\(name)").path
    }

    /// The variables that point a gateway at this mock for every provider.
    var environment: [String: String] {
        [
            "OPENAI_API_KEY": "sk-mock-openai", "OPENAI_BASE_URL": "http://127.0.0.1:\(port)/v1",
            "ANTHROPIC_API_KEY": "sk-ant-mock", "ANTHROPIC_BASE_URL": "http://127.0.0.1:\(port)",
            "GEMINI_API_KEY": "gemini-mock-key", "GEMINI_BASE_URL": "http://127.0.0.1:\(port)",
        ]
    }

    /// Queues faults (see scripts/mock-upstream: status, delay_ms, reset, cut_after_chunks, …).
    func inject(_ json: String) throws {
        let response = try call(port: port, "POST", "/__mock/faults", headers: ["Content-Type: application/json"], body: json)
        precondition(response.status == 200, "mock refused the fault: \(response.text)")
    }

    /// The requests the mock received, oldest first.
    func requests() throws -> [[String: Any]] {
        (try call(port: port, "GET", "/__mock/requests").json["requests"] as? [[String: Any]]) ?? []
    }

    func stats() throws -> [String: Any] { try call(port: port, "GET", "/__mock/stats").json }
}
