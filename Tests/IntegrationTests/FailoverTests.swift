import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Failover across providers with the mock's fault injection: what triggers it, what does not,
/// streams, and provider health shared by every worker.
@Suite(.serialized)
struct FailoverTests {
    static let key = ChatCompletionTests.key

    static func ask(_ gateway: GatewayProcess, _ model: String = "gpt-4o-mini", stream: Bool = false,
        headers: [String] = []) throws -> TestResponse
    {
        try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [key] + headers,
            body: ChatCompletionTests.chat(model, stream: stream), timeout: 30)
    }

    static func providers(of mock: MockUpstream) throws -> [String] {
        try mock.requests().compactMap { $0["provider"] as? String }
    }

    @Test(arguments: [
        "{\"provider\":\"openai\",\"status\":429}", "{\"provider\":\"openai\",\"status\":500}",
        "{\"provider\":\"openai\",\"status\":503}", "{\"provider\":\"openai\",\"status\":502}",
        "{\"provider\":\"openai\",\"reset\":true}", "{\"provider\":\"openai\",\"close\":true}",
    ])
    func eachTriggerFailsOverToTheNextProvider(fault: String) throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject(fault)
        let response = try Self.ask(gateway)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("X-Provider") == "anthropic")
        #expect(response.header("X-Model") == "claude-3-5-haiku-latest")
        #expect(response.header("X-Attempts") == "2")
        #expect(response.json["object"] as? String == "chat.completion")
        #expect(try Self.providers(of: mock) == ["openai", "anthropic"])
    }

    @Test func anthropicOverloadedFailsOverToOpenAI() throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject("{\"provider\":\"anthropic\",\"status\":529}")
        let response = try Self.ask(gateway, "claude-sonnet-4-5")
        #expect(response.status == 200)
        #expect(response.header("X-Provider") == "openai")
        #expect(response.header("X-Model") == "gpt-4o")
    }

    @Test func aTimeoutFailsOverAfterAboutUpstreamTimeout() throws {
        let (gateway, mock) = try ChatCompletionTests.start(extra: ["UPSTREAM_TIMEOUT": "1s"])
        try mock.inject("{\"provider\":\"openai\",\"delay_ms\":5000}")
        let started = Date()
        let response = try Self.ask(gateway)
        let elapsed = Date().timeIntervalSince(started)
        #expect(response.status == 200)
        #expect(response.header("X-Provider") == "anthropic")
        print("failover after a 1s UPSTREAM_TIMEOUT took \(Int(elapsed * 1000)) ms")
        #expect(elapsed < 4, "failing over took \(elapsed)s, far more than UPSTREAM_TIMEOUT")
    }

    @Test(arguments: [400, 401, 403, 404, 422])
    func otherClientErrorsDoNotFailOver(status: Int) throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject("{\"provider\":\"openai\",\"status\":\(status)}")
        let response = try Self.ask(gateway)
        #expect(response.status == status)
        #expect(response.header("X-Attempts") == "1")
        #expect(try Self.providers(of: mock) == ["openai"])
    }

    @Test func aStreamFailsOverBeforeItsFirstByte() throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        // OpenAI refuses; Anthropic answers 200 and then closes before its first event.
        try mock.inject("[{\"provider\":\"openai\",\"status\":503},{\"provider\":\"anthropic\",\"cut_after_chunks\":0}]")
        let response = try Self.ask(gateway, stream: true)
        #expect(response.status == 200)
        #expect(response.header("X-Provider") == "gemini")
        #expect(response.header("X-Attempts") == "3")
        #expect(response.text.hasSuffix("data: [DONE]\n\n"))
        #expect(response.text.components(separatedBy: "data: ").count > 3)
    }

    @Test func aStreamThatBreaksAfterBytesEndsWithAnErrorAndRepeatsNothing() throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject("{\"provider\":\"openai\",\"cut_after_chunks\":3}")
        let response = try Self.ask(gateway, stream: true)
        #expect(response.status == 200)
        #expect(!response.text.contains("[DONE]"))
        #expect(response.text.contains("\"error\""))
        #expect(try Self.providers(of: mock) == ["openai"])
    }

    @Test func whenEveryProviderFailsTheLastErrorComesBackWithTheAttempts() throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject("[{\"provider\":\"openai\",\"status\":500},{\"provider\":\"anthropic\",\"status\":503},{\"provider\":\"gemini\",\"status\":500}]")
        let failed = try Self.ask(gateway)
        #expect(failed.status == 500)
        #expect(failed.header("X-Attempts") == "3")
        #expect((failed.error["message"] as? String)?.hasPrefix("Gemini") == true)

        try mock.inject("[{\"provider\":\"openai\",\"status\":429},{\"provider\":\"anthropic\",\"status\":429},{\"provider\":\"gemini\",\"status\":429}]")
        let limited = try Self.ask(gateway, "gpt-4.1")
        #expect(limited.status == 429)
        #expect(limited.header("X-Attempts") == "3")
    }

    @Test func failoverCanBeTurnedOffPerRequest() throws {
        let (gateway, mock) = try ChatCompletionTests.start()
        try mock.inject("{\"provider\":\"openai\",\"status\":503}")
        let response = try Self.ask(gateway, headers: ["X-LLM0-Failover: off"])
        #expect(response.status == 503)
        #expect(response.header("X-Attempts") == "1")
    }

    @Test func aRetryAfterKeepsEveryWorkerAwayFromTheProvider() throws {
        let (gateway, mock) = try ChatCompletionTests.start(extra: ["WORKERS": "4"])
        try mock.inject("{\"provider\":\"openai\",\"status\":429,\"retry_after\":5}")
        let started = Date()
        #expect(try Self.ask(gateway).header("X-Provider") == "anthropic")
        // Fresh connections spread over the four workers: none of them calls OpenAI now.
        var served: [String] = []
        while Date().timeIntervalSince(started) < 3.5 {
            served.append(try Self.ask(gateway).header("X-Provider") ?? "none")
            usleep(100_000)  // the mock remembers its last 100 requests only
        }
        #expect(served.count >= 8)
        #expect(served.allSatisfy { $0 == "anthropic" }, "\(served)")
        #expect(try Self.providers(of: mock).filter { $0 == "openai" }.count == 1)
        // Once the time has passed, OpenAI serves again.
        usleep(UInt32(max(0, 5.5 - Date().timeIntervalSince(started)) * 1_000_000))
        #expect(try Self.ask(gateway).header("X-Provider") == "openai")

        let metrics = try fetch(port: gateway.port, "/metrics").text
        #expect(metrics.contains("llm0_upstream_requests_total{provider=\"openai\",outcome=\"429\"} 1"))
        #expect(metrics.contains("llm0_failovers_total 1"))
    }

    @Test func aFailingProviderCoolsDownAndIsProbedAgainLater() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-routing-\(UUID().uuidString).json")
        try "{\"failover\":{\"circuit_breaker\":{\"failures\":2,\"cooldown\":\"2s\"}}}"
            .write(to: directory, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (gateway, mock) = try ChatCompletionTests.start(extra: ["GATEWAY_CONFIG": directory.path, "WORKERS": "2"])
        try mock.inject("{\"provider\":\"openai\",\"status\":500,\"count\":2}")
        for _ in 0..<2 { #expect(try Self.ask(gateway).header("X-Provider") == "anthropic") }
        // The circuit is open: OpenAI is skipped without being called.
        let skipped = try Self.ask(gateway)
        #expect(skipped.header("X-Provider") == "anthropic")
        #expect(skipped.header("X-Attempts") == "1")
        #expect(try Self.providers(of: mock).filter { $0 == "openai" }.count == 2)
        // After the cooldown one probe goes through; it succeeds and OpenAI serves again.
        usleep(2_300_000)
        #expect(try Self.ask(gateway).header("X-Provider") == "openai")
        #expect(try Self.ask(gateway).header("X-Provider") == "openai")
    }

    @Test func whenEveryProviderIsCoolingDownTheClientHears503AtOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-routing-\(UUID().uuidString).json")
        try "{\"failover\":{\"circuit_breaker\":{\"failures\":1,\"cooldown\":\"30s\"}}}"
            .write(to: directory, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (gateway, mock) = try ChatCompletionTests.start(extra: ["GATEWAY_CONFIG": directory.path, "WORKERS": "1"])
        try mock.inject("[{\"provider\":\"openai\",\"status\":500},{\"provider\":\"anthropic\",\"status\":500},{\"provider\":\"gemini\",\"status\":500}]")
        #expect(try Self.ask(gateway).status == 500)
        let before = try mock.requests().count
        let response = try Self.ask(gateway)
        #expect(response.status == 503)
        #expect(response.header("X-Attempts") == "0")
        #expect(Int(response.header("Retry-After") ?? "") ?? 0 > 0)
        #expect(response.error["code"] as? String == "providers_unavailable")
        #expect(try mock.requests().count == before)
    }
}
