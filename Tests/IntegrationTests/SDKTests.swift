import Foundation
import Testing

/// The official `openai` Python package (installed by scripts/deps into .venv) as the client.
@Suite(.serialized)
struct SDKTests {
    static var python: String {
        let venv = MockUpstream.repositoryRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    /// Runs the SDK script against `gateway`; returns what it printed, parsed.
    static func runSDK(gateway: GatewayProcess, model: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            MockUpstream.repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Python/openai_sdk_client.py").path,
            "http://127.0.0.1:\(gateway.port)/v1", "gw_test_abc123", model,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the SDK script failed:\n\(errorText)")
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    @Test func theOpenAIPythonSDKWorksAgainstTheGateway() throws {
        let (gateway, _) = try ChatCompletionTests.start()
        let seen = try Self.runSDK(gateway: gateway, model: "gpt-4o-mini")
        #expect(seen["content"] as? String == "mock reply to: hello from the sdk")
        #expect(seen["prompt_tokens"] as? Int == 7)
        #expect(seen["x_provider"] as? String == "openai")
        #expect(seen["streamed"] as? String == "mock reply to: stream to the sdk")
        #expect((seen["stream_usage"] as? Int ?? 0) > 0)
        #expect(seen["unknown_model"] as? String == "model_not_found")
        #expect(seen["bad_key"] as? String == "authentication_error")
        #expect((seen["models"] as? Int ?? 0) > 0)
    }
}
