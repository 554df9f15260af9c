import Testing

@testable import Common

struct ConfigTests {
    @Test func defaultsFollowTheContract() throws {
        let config = try GatewayConfig.load(from: [:])
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 8080)
        #expect(config.maxRequestBytes == 10_485_760)
        #expect(config.maxHeaderBytes == 32768)
        #expect(config.shutdownGraceNanos == 30_000_000_000)
        #expect(config.upstreamTimeoutNanos == 30_000_000_000)
        #expect(config.upstreamIdleTimeoutNanos == 60_000_000_000)
        #expect(config.openAI.baseURL == "https://api.openai.com/v1")
        #expect(config.anthropic.apiKey == nil)
        #expect(config.databaseURL == nil)
        #expect(config.adminToken == nil)
        #expect(config.routing == RoutingConfig())
        #expect(config.workers >= 1)
    }

    @Test(arguments: [
        ("PORT", "70000"), ("PORT", "http"), ("WORKERS", "0"), ("WORKERS", "300"), ("SHUTDOWN_GRACE", "soon"),
        ("UPSTREAM_TIMEOUT", "-1s"), ("LOG_LEVEL", "verbose"), ("GATEWAY_ENV", "staging"),
        ("DATABASE_URL", "mysql://db"), ("ADMIN_TOKEN", "short"), ("OPENAI_BASE_URL", "api.openai.com"),
        ("MAX_HEADER_BYTES", "10"), ("HOST", "a b"), ("GATEWAY_CONFIG", "/nonexistent/file.json"),
    ])
    func badValuesNameTheirVariable(variable: String, value: String) {
        #expect(throws: ConfigError.self) { try GatewayConfig.load(from: [variable: value]) }
        do {
            _ = try GatewayConfig.load(from: [variable: value])
        } catch {
            #expect(error.variable == variable)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test(arguments: [("500ms", 500_000_000), ("30s", 30_000_000_000), ("2m", 120_000_000_000), ("1h", 3_600_000_000_000),
        ("15", 15_000_000_000), ("1.5s", 1_500_000_000)] as [(String, UInt64)])
    func durationsParse(text: String, nanos: UInt64) {
        #expect(DurationParser.nanoseconds(text) == nanos)
    }

    @Test(arguments: ["", "s", "10x", "-5", "1e3", "ms", "5 s s"])
    func badDurationsAreRefused(text: String) {
        #expect(DurationParser.nanoseconds(text) == nil)
    }

    @Test func dotEnvFilesParse() throws {
        let parsed = try EnvironmentFile.parse("# c\nA=1\nexport B = two \nC=\"quoted # not comment\"\nD='x'\n\nE=\n")
        #expect(parsed == ["A": "1", "B": "two", "C": "quoted # not comment", "D": "x", "E": ""])
        #expect(throws: ConfigError.self) { try EnvironmentFile.parse("JUSTTEXT\n") }
        #expect(throws: ConfigError.self) { try EnvironmentFile.parse("BAD-NAME=1\n") }
    }

    @Test func passwordsAreMaskedInDatabaseURLs() {
        #expect(GatewayConfig.maskPassword("postgres://u:secret@h:5432/db") == "postgres://u:********@h:5432/db")
        #expect(GatewayConfig.maskPassword("postgres://h/db") == "postgres://h/db")
        #expect(GatewayConfig.maskPassword("postgresql://u@h/db") == "postgresql://u@h/db")
    }

    @Test func routingConfigParsesEverySetting() throws {
        let text = """
            {"failover":{"enabled":false,"max_attempts":2,"chains":{"gpt-4o":["anthropic/claude-sonnet-4-5"]},
             "tiers":{"models":{"x":"small"},"defaults":{"gemini":{"mid":"gemini-2.5-flash-lite"}}},
             "circuit_breaker":{"failures":2,"cooldown":"1s","max_cooldown":"4s"}},
             "providers":{"openai":{"timeout":"5s"}}}
            """
        let config = try RoutingConfig.parse(try JSONParser.parse(Array(text.utf8)))
        #expect(!config.failoverEnabled)
        #expect(config.maxAttempts == 2)
        #expect(config.chains["gpt-4o"] == ["anthropic/claude-sonnet-4-5"])
        #expect(config.tierOverrides["x"] == "small")
        #expect(config.tierDefaults["gemini"]?["mid"] == "gemini-2.5-flash-lite")
        #expect(config.breaker.failures == 2)
        #expect(config.breaker.cooldownNanos == 1_000_000_000)
        #expect(config.breaker.maxCooldownNanos == 4_000_000_000)
        #expect(config.providerTimeoutNanos["openai"] == 5_000_000_000)
    }

    @Test(arguments: [
        "[]", "{\"failover\":{\"max_attempts\":0}}", "{\"failover\":{\"chains\":{\"gpt-4o\":[\"mistral/x\"]}}}",
        "{\"failover\":{\"tiers\":{\"models\":{\"x\":\"huge\"}}}}", "{\"providers\":{\"openai\":{\"timeout\":\"fast\"}}}",
        "{\"failover\":{\"typo\":1}}", "{\"providers\":{\"azure\":{}}}",
    ])
    func routingConfigRefusesMistakes(text: String) throws {
        let value = try JSONParser.parse(Array(text.utf8))
        #expect(throws: ConfigError.self) { try RoutingConfig.parse(value) }
    }
}
