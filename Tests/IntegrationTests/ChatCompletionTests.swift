import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `/v1/chat/completions` end to end: the real binary, the mock provider, real stores.
@Suite(.serialized)
struct ChatCompletionTests {
    static let key = "Authorization: Bearer gw_test_abc123"
    static let admin = "Authorization: Bearer admin-token-for-tests-0001"

    static func start(_ backend: StoreBackend = .sqlite, extra: [String: String] = [:]) throws -> (GatewayProcess, MockUpstream) {
        let mock = try MockUpstream()
        var environment = mock.environment
        environment["ADMIN_TOKEN"] = "admin-token-for-tests-0001"
        for (key, value) in try backend.environment() { environment[key] = value }
        for (key, value) in extra { environment[key] = value }
        let gateway = try GatewayProcess(environment: environment)
        gateway.companions.append(mock)
        return (gateway, mock)
    }

    static func chat(_ model: String = "gpt-4o-mini", _ text: String = "hello gateway", stream: Bool = false,
        includeUsage: Bool = false) -> String
    {
        var body = "{\"model\":\"\(model)\",\"messages\":[{\"role\":\"user\",\"content\":\"\(text)\"}]"
        if stream { body += ",\"stream\":true" }
        if includeUsage { body += ",\"stream_options\":{\"include_usage\":true}" }
        return body + "}"
    }

    @Test(arguments: StoreBackend.allCases)
    func nonStreamingRoundTripIsPricedAndLogged(backend: StoreBackend) throws {
        let (gateway, mock) = try Self.start(backend)
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: [Self.key, "X-Request-Id: rt-\(backend)-1", "X-LLM0-Feature: search", "X-Customer-ID: cust-9"],
            body: Self.chat())
        #expect(response.status == 200, "\(response.text)")
        let choices = response.json["choices"] as? [[String: Any]]
        let message = choices?.first?["message"] as? [String: Any]
        #expect(message?["content"] as? String == "mock reply to: hello gateway")
        #expect(response.header("X-Request-Id") == "rt-\(backend)-1")
        #expect(response.header("X-Provider") == "openai")
        #expect(response.header("X-Model") == "gpt-4o-mini")
        #expect(response.header("X-Attempts") == "1")
        #expect(response.header("X-Latency-Ms").flatMap(Int.init) != nil)
        // The mock counts 5 prompt and 5 completion tokens: 5 × 0.15 + 5 × 0.60 per million.
        let usage = response.json["usage"] as? [String: Any]
        #expect(usage?["prompt_tokens"] as? Int == 5)
        #expect(response.header("X-Cost-USD") == "0.00000375")

        let sent = try mock.requests().last
        let body = sent?["body"] as? [String: Any]
        #expect(sent?["path"] as? String == "/v1/chat/completions")
        #expect((sent?["headers"] as? [String: Any])?["authorization"] as? String == "Bearer sk-m***")
        #expect(body?["model"] as? String == "gpt-4o-mini")
        #expect(body?["stream_options"] == nil)

        // The log row arrives through the batch writer (off the request path).
        var row: [String: Any]?
        _ = eventually(timeout: 10) {
            let logs = try? call(port: gateway.port, "GET", "/admin/logs?limit=20", headers: [Self.admin])
            row = (logs?.json["data"] as? [[String: Any]])?.first { $0["request_id"] as? String == "rt-\(backend)-1" }
            return row != nil
        }
        #expect(row?["status_code"] as? Int == 200)
        #expect(row?["provider"] as? String == "openai")
        #expect(row?["prompt_tokens"] as? Int == 5)
        #expect(row?["completion_tokens"] as? Int == 5)
        #expect(row?["customer_id"] as? String == "cust-9")
        #expect((row?["labels"] as? [String: Any])?["feature"] as? String == "search")
        #expect(row?["api_key_id"] as? String == "key_test")
        #expect("\(row?["cost_usd"] ?? "")" == "3.75e-06" || "\(row?["cost_usd"] ?? "")" == "0.00000375")

        let usageByLabel = try call(port: gateway.port, "GET", "/admin/usage?group_by=label:feature", headers: [Self.admin])
        let group = (usageByLabel.json["data"] as? [[String: Any]])?.first { $0["group"] as? String == "search" }
        #expect((group?["requests"] as? Int ?? 0) >= 1)
    }

    @Test(arguments: [false, true])
    func streamingRelaysChunksThenDoneWithCostTrailer(includeUsage: Bool) throws {
        let (gateway, mock) = try Self.start()
        let connection = try TestConnection(port: gateway.port)
        let response = try connection.request("POST", "/v1/chat/completions", headers: [Self.key],
            body: Self.chat(stream: true, includeUsage: includeUsage))
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(response.header("Trailer") == "X-Cost-USD, X-Latency-Ms")
        let events = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.allSatisfy { $0.hasPrefix("data: ") })
        #expect(events.last == "data: [DONE]")
        let chunks = events.dropLast().compactMap { event -> [String: Any]? in
            (try? JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))) as? [String: Any]
        }
        let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            .joined()
        #expect(text == "mock reply to: hello gateway")
        let usageChunks = chunks.filter { ($0["choices"] as? [Any])?.isEmpty == true && $0["usage"] is [String: Any] }
        #expect(usageChunks.count == (includeUsage ? 1 : 0))
        #expect(response.trailers.first { $0.0 == "X-Cost-USD" }?.1 == "0.00000375")
        #expect(response.trailers.contains { $0.0 == "X-Latency-Ms" })
        // The gateway always asks the provider for usage, whatever the client asked.
        let sent = try mock.requests().last?["body"] as? [String: Any]
        #expect((sent?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        // The connection is still usable afterwards.
        #expect(try connection.get("/healthz").status == 200)
    }

    @Test func aStreamCutByTheProviderEndsWithAnErrorEventAndNoDone() throws {
        let (gateway, mock) = try Self.start()
        try mock.inject("{\"provider\":\"openai\",\"cut_after_chunks\":3}")
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key],
            body: Self.chat(stream: true))
        #expect(response.status == 200)
        let events = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(!events.contains("data: [DONE]"))
        #expect(events.last?.contains("\"error\"") == true)
    }

    @Test func aClientThatLeavesCancelsTheUpstreamStream() throws {
        let (gateway, mock) = try Self.start()
        try mock.inject("{\"provider\":\"openai\",\"chunk_delay_ms\":100,\"chunks\":300}")
        let connection = try TestConnection(port: gateway.port)
        try connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n\(Self.key)\r\nContent-Length: \(Self.chat(stream: true).utf8.count)\r\n\r\n\(Self.chat(stream: true))")
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(recv(connection.fd, &buffer, buffer.count, 0) > 0)
        usleep(300_000)
        shutdown(connection.fd, Int32(SHUT_RDWR))
        let cancelled = eventually(timeout: 3) {
            ((try? mock.stats())?["streams_cancelled_by_client"] as? Int ?? 0) >= 1
        }
        #expect(cancelled, "the upstream stream was not cancelled")
    }

    @Test func twoHundredCompletionsOnOneKeepAliveConnection() throws {
        let (gateway, _) = try Self.start()
        let connection = try TestConnection(port: gateway.port)
        for index in 0..<200 {
            let response = try connection.request("POST", "/v1/chat/completions", headers: [Self.key],
                body: Self.chat(stream: index % 2 == 1))
            #expect(response.status == 200, "request \(index): \(response.text)")
        }
    }

    @Test func authenticationIsRequiredAndRevocationReachesEveryWorker() throws {
        let (gateway, _) = try Self.start(extra: ["WORKERS": "3"])
        let missing = try call(port: gateway.port, "POST", "/v1/chat/completions", body: Self.chat())
        #expect(missing.status == 401)
        #expect(missing.error["type"] as? String == "authentication_error")
        let wrong = try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: ["Authorization: Bearer gw_not_a_key"], body: Self.chat())
        #expect(wrong.status == 401)
        #expect(wrong.error["code"] as? String == "invalid_api_key")
        #expect(!gateway.log.contains("gw_not_a_key"))

        let created = try call(port: gateway.port, "POST", "/admin/keys", headers: [Self.admin],
            body: "{\"name\":\"team-a\",\"rate_limit_rpm\":60,\"customer_id\":\"acme\"}")
        #expect(created.status == 201)
        let key = try #require(created.json["key"] as? String)
        let id = try #require(created.json["id"] as? String)
        #expect(key.hasPrefix("gw_"))
        // Every worker learns the key (fresh connections spread over the three).
        for _ in 0..<12 {
            #expect(try call(port: gateway.port, "POST", "/v1/chat/completions",
                headers: ["Authorization: Bearer \(key)"], body: Self.chat()).status == 200)
        }
        let listed = try call(port: gateway.port, "GET", "/admin/keys", headers: [Self.admin])
        #expect(listed.text.contains(id))
        #expect(!listed.text.contains(key))
        #expect(!gateway.log.contains(key))

        #expect(try call(port: gateway.port, "DELETE", "/admin/keys/\(id)", headers: [Self.admin]).status == 200)
        usleep(5_000_000)
        for _ in 0..<12 {
            #expect(try call(port: gateway.port, "POST", "/v1/chat/completions",
                headers: ["Authorization: Bearer \(key)"], body: Self.chat()).status == 401)
        }
        #expect(try call(port: gateway.port, "GET", "/admin/keys").status == 401)
    }

    @Test(arguments: [
        ("{not json", 400, "invalid_request_error", "invalid_json"),
        ("[]", 400, "invalid_request_error", nil),
        ("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400, "invalid_request_error", "missing_required_parameter"),
        ("{\"model\":\"gpt-4o\",\"messages\":[]}", 400, "invalid_request_error", "invalid_value"),
        ("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "invalid_request_error", "invalid_value"),
        ("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", 400, "invalid_request_error", "invalid_type"),
        ("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", 400, "invalid_request_error", "invalid_type"),
        ("{\"model\":\"llama-3-70b\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404, "invalid_request_error", "model_not_found"),
    ] as [(String, Int, String, String?)])
    func badRequestsGetOpenAIErrors(body: String, status: Int, type: String, code: String?) throws {
        let (gateway, _) = try Self.start()
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key], body: body)
        #expect(response.status == status, "\(response.text)")
        #expect(response.error["type"] as? String == type)
        if let code { #expect(response.error["code"] as? String == code) }
        #expect((response.error["message"] as? String)?.isEmpty == false)
        #expect(response.header("X-Request-Id") != nil)
    }

    @Test func aProviderWithoutItsKeyAnswers503NamingTheVariable() throws {
        let mock = try MockUpstream()
        let gateway = try GatewayProcess(environment: [
            "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:\(mock.port)/v1",
        ])
        gateway.companions.append(mock)
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key],
            body: Self.chat("claude-sonnet-4-5"))
        #expect(response.status == 503)
        #expect((response.error["message"] as? String)?.contains("ANTHROPIC_API_KEY") == true)
        #expect(try mock.requests().isEmpty)
    }

    @Test func bodiesOverTheLimitGet413() throws {
        let (gateway, _) = try Self.start(extra: ["MAX_REQUEST_BYTES": "2000"])
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key],
            body: Self.chat(String(repeating: "x", count: 3000)))
        #expect(response.status == 413)
    }

    @Test(arguments: [(400, "invalid_request_error"), (401, "authentication_error"), (429, "rate_limit_error"), (500, "server_error")])
    func providerErrorsComeBackInOpenAIShape(status: Int, type: String) throws {
        let (gateway, mock) = try Self.start()
        try mock.inject("{\"provider\":\"openai\",\"status\":\(status),\"retry_after\":7}")
        // Failover off: this is about how one provider's error reaches the client.
        let response = try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: [Self.key, "X-LLM0-Failover: off"], body: Self.chat())
        #expect(response.status == status)
        #expect(response.error["type"] as? String == type || (status == 500 && response.error["type"] as? String == "api_error"))
        #expect((response.error["message"] as? String)?.hasPrefix("OpenAI: ") == true)
        if status == 429 { #expect(response.header("Retry-After") == "7") }
    }

    @Test func modelsListsTheConfiguredProvidersModels() throws {
        let mock = try MockUpstream()
        let gateway = try GatewayProcess(environment: [
            "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:\(mock.port)/v1",
        ])
        gateway.companions.append(mock)
        #expect(try call(port: gateway.port, "GET", "/v1/models").status == 401)
        let response = try call(port: gateway.port, "GET", "/v1/models", headers: [Self.key])
        #expect(response.json["object"] as? String == "list")
        let ids = (response.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.contains("gpt-4o-mini"))
        #expect(!ids.contains { $0.hasPrefix("claude") })
    }

    /// A model the routing knows but the price table does not is served, costs 0, and the log
    /// says so once per worker, not once per request.
    @Test func aModelWithoutAPriceCostsZeroAndIsWarnedAboutOnce() throws {
        let (gateway, _) = try Self.start(extra: ["WORKERS": "1"])
        for _ in 0..<3 {
            let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key],
                body: Self.chat("gemini-1.5-flash"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("X-Cost-USD") == "0")
        }
        let priced = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key], body: Self.chat())
        #expect(priced.header("X-Cost-USD") == "0.00000375")
        #expect(eventually { gateway.log.contains("no price for model") })
        let warnings = gateway.log.components(separatedBy: "\n").filter { $0.contains("no price for model") }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("gemini-1.5-flash") == true)
    }

    @Test func productionRefusesToStartWhileTheTestKeyIsActive() throws {
        let gateway = try GatewayProcess(environment: ["GATEWAY_ENV": "production"], waitUntilServing: false)
        #expect(gateway.waitForExit(timeout: 20) == 1)
        #expect(gateway.log.contains("gw_test_abc123"))
    }

    @Test func developmentWarnsLoudlyAboutTheTestKey() throws {
        let gateway = try GatewayProcess()
        #expect(gateway.log.contains("THE TEST KEY gw_test_abc123 IS ACTIVE"))
    }

    /// Providers close kept-alive connections after their idle timeout. A worker keeps watching
    /// an upstream connection between transfers (the next transfer on it then costs no epoll
    /// call), so one the provider closed must be dropped and replaced without a failed request,
    /// also when the replacement gets the closed one's descriptor number (one worker, so every
    /// round lands on the same connection pool).
    @Test func upstreamConnectionsClosedWhileIdleCostNoRequest() throws {
        let (gateway, mock) = try Self.start(extra: ["WORKERS": "1"])
        for round in 0..<6 {
            let response = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key],
                body: Self.chat("gpt-4o-mini", "round \(round)"))
            #expect(response.status == 200, "round \(round): \(response.text)")
            #expect(response.header("X-Attempts") == "1")
            #expect(response.header("X-Provider") == "openai")
            let closed = try call(port: mock.port, "POST", "/__mock/close-idle").json["closed"] as? Int
            #expect((closed ?? 0) >= 1, "round \(round): the gateway's upstream connection was not idle at the mock")
            // Odd rounds give the worker time to see the close on the idle connection first;
            // even rounds reuse it at once: the request goes out on a closed connection, gets
            // nothing back, and is sent again on a new one.
            if round % 2 == 1 { usleep(200_000) }
        }
        let final = try call(port: gateway.port, "POST", "/v1/chat/completions", headers: [Self.key], body: Self.chat())
        #expect(final.status == 200)
        let connections = try mock.stats()["connections"] as? [String: Any]
        #expect((connections?["opened"] as? Int ?? 0) >= 7 + 6, "a new upstream connection per round")
    }
}
