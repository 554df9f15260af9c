import Foundation
import Testing

/// The official `openai` Python package (installed by scripts/deps into .venv) as the client.
@Suite(.serialized)
struct SDKTests {
    static var python: String {
        let venv = MockUpstream.repositoryRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    /// Runs an SDK script against `gateway`; returns what it printed, parsed.
    static func runSDK(gateway: GatewayProcess, model: String, script: String = "openai_sdk_client.py") throws -> [String: Any] {
        let (status, text) = try ChildProcess.run([
            python, MockUpstream.repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Python/\(script)").path,
            "http://127.0.0.1:\(gateway.port)/v1", "gw_test_abc123", model,
        ], environment: ProcessInfo.processInfo.environment)
        #expect(status == 0, "the SDK script failed:\n\(text)")
        let data = Data((text.split(separator: "\n").last { $0.hasPrefix("{") } ?? "").utf8)
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

    @Test(arguments: ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"])
    func everyProviderServesTheSDKPlainAndStreaming(model: String) throws {
        let (gateway, _) = try ChatCompletionTests.start()
        let seen = try Self.runSDK(gateway: gateway, model: model)
        #expect(seen["content"] as? String == "mock reply to: hello from the sdk")
        #expect(seen["streamed"] as? String == "mock reply to: stream to the sdk")
        #expect((seen["stream_usage"] as? Int ?? 0) > 0)
        #expect(seen["x_provider"] as? String == String(model.prefix { $0 != "-" }).replacingOccurrences(of: "gpt", with: "openai")
            .replacingOccurrences(of: "claude", with: "anthropic"))
    }

    @Test(arguments: ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"])
    func toolsToolResultsAndImagesSurviveTranslation(model: String) throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        let seen = try Self.runSDK(gateway: gateway, model: model, script: "openai_sdk_tools_images.py")
        #expect(seen["finish_reason"] as? String == "tool_calls")
        #expect(seen["tool_name"] as? String == "lookup_order")
        #expect((seen["tool_arguments"] as? [String: Any])?["query"] != nil)
        #expect((seen["after_tool"] as? String)?.hasPrefix("mock reply to:") == true)
        #expect(seen["stream_tool_name"] as? String == "lookup_order")
        #expect((seen["stream_tool_arguments"] as? [String: Any])?["query"] != nil)
        #expect(seen["stream_finish_reason"] as? String == "tool_calls")
        #expect((seen["image_data_url"] as? String)?.contains("image") == true)
        #expect((seen["image_http_url"] as? String)?.contains("image") == true)
        // The tool result reached the provider in its own format.
        let bodies = try mock.requests().compactMap { $0["body"] as? [String: Any] }
        #expect(bodies.contains { "\($0)".contains("shipped") })
    }
}
