import Common
import Testing

@testable import Worker

struct FailoverPlanningTests {
    let planner = FailoverPlanner(routing: RoutingConfig())
    let all: [ProviderID] = [.openai, .anthropic, .gemini]

    @Test func theChainStartsAtTheRequestedProviderThenFollowsTheOrder() {
        let chain = planner.chain(for: AttemptStep(provider: .gemini, model: "gemini-2.5-flash"),
            requestedModel: "gemini-2.5-flash", enabled: all, failover: true)
        #expect(chain == [
            AttemptStep(provider: .gemini, model: "gemini-2.5-flash"),
            AttemptStep(provider: .openai, model: "gpt-4.1-mini"),
            AttemptStep(provider: .anthropic, model: "claude-haiku-4-5"),
        ])
    }

    @Test(arguments: [
        ("gpt-4o", TierMap.Tier.flagship), ("gpt-4o-mini-2024-07-18", .small), ("claude-sonnet-4-5-20250929", .flagship),
        ("claude-3-5-haiku-latest", .small), ("gemini-2.5-flash-lite", .small), ("gemini-2.5-flash", .mid),
        ("o4-mini", .mid), ("gpt-5-nano", .small), ("some-new-mini-model", .mid), ("gpt-6", .flagship),
    ])
    func modelsHaveTiers(model: String, tier: TierMap.Tier) {
        #expect(TierMap().tier(of: model) == tier)
    }

    @Test func onlyConfiguredProvidersJoinAndFailoverCanBeTurnedOff() {
        let first = AttemptStep(provider: .openai, model: "gpt-4o")
        #expect(planner.chain(for: first, requestedModel: "gpt-4o", enabled: [.openai, .gemini], failover: true)
            == [first, AttemptStep(provider: .gemini, model: "gemini-2.5-pro")])
        #expect(planner.chain(for: first, requestedModel: "gpt-4o", enabled: all, failover: false) == [first])
    }

    @Test func configuredChainsTiersAndLimitsApply() throws {
        var routing = RoutingConfig()
        routing.chains["gpt-4o"] = ["gemini/gemini-2.5-flash", "anthropic/claude-opus-4-1", "openai/gpt-4o"]
        routing.maxAttempts = 2
        let custom = FailoverPlanner(routing: routing)
        let first = AttemptStep(provider: .openai, model: "gpt-4o")
        #expect(custom.chain(for: first, requestedModel: "gpt-4o", enabled: all, failover: true)
            == [first, AttemptStep(provider: .gemini, model: "gemini-2.5-flash")])

        var tiers = RoutingConfig()
        tiers.tierOverrides["house-model"] = "small"
        tiers.tierDefaults["anthropic"] = ["small": "claude-3-haiku-20240307"]
        let map = TierMap(routing: tiers)
        #expect(map.tier(of: "house-model") == .small)
        #expect(map.equivalent(of: "gpt-4o-mini", on: .anthropic) == "claude-3-haiku-20240307")

        var off = RoutingConfig()
        off.failoverEnabled = false
        #expect(FailoverPlanner(routing: off).chain(for: first, requestedModel: "gpt-4o", enabled: all, failover: true) == [first])
    }
}

struct ProviderHealthTests {
    @Test func retryAfterBlocksTheProviderForEveryone() throws {
        let stats = try SharedStats.create()
        let health = ProviderHealth(stats: stats, breaker: CircuitBreakerSettings())
        #expect(health.availability(.openai, now: 1_000) == .available)
        health.recordRateLimited(.openai, retryAfterNanos: 5_000_000_000, now: 1_000)
        // Another worker maps the same segment and sees the same block.
        let other = ProviderHealth(stats: try SharedStats.attach(fd: stats.fd), breaker: CircuitBreakerSettings())
        #expect(other.availability(.openai, now: 2_000_000_000) == .unavailable(until: 5_000_001_000))
        #expect(other.availability(.anthropic, now: 2_000_000_000) == .available)
        #expect(other.availability(.openai, now: 5_000_001_001) == .available)
    }

    @Test func repeatedFailuresOpenTheCircuitThenOneProbeDecides() throws {
        var settings = CircuitBreakerSettings()
        settings.failures = 3
        settings.cooldownNanos = 1_000
        settings.maxCooldownNanos = 4_000
        let health = ProviderHealth(stats: try SharedStats.create(), breaker: settings)
        for _ in 0..<2 { health.recordFailure(.gemini, now: 100, wasProbe: false) }
        #expect(health.availability(.gemini, now: 100) == .available)
        health.recordFailure(.gemini, now: 100, wasProbe: false)
        #expect(health.availability(.gemini, now: 500) == .unavailable(until: 1_100))
        // Cooldown over: exactly one caller gets the probe.
        #expect(health.availability(.gemini, now: 1_200) == .probe)
        #expect(health.availability(.gemini, now: 1_201) == .unavailable(until: 1_000_001_201))
        // The probe fails: open again, for twice as long.
        health.recordFailure(.gemini, now: 1_300, wasProbe: true)
        #expect(health.availability(.gemini, now: 1_400) == .unavailable(until: 3_300))
        #expect(health.availability(.gemini, now: 3_400) == .probe)
        health.recordSuccess(.gemini)
        #expect(health.availability(.gemini, now: 3_500) == .available)
    }
}

struct PricingTests {
    func price(_ input: String, _ output: String, _ cached: String? = nil) -> ModelPrice {
        ModelPrice(model: "m", provider: "openai", inputPerMillion: Decimal12(input)!, outputPerMillion: Decimal12(output)!,
            cachedInputPerMillion: cached.flatMap { Decimal12($0) })
    }

    @Test func costsAreExact() {
        let mini = price("0.15", "0.60", "0.075")
        #expect(PriceBook.cost(of: Usage(promptTokens: 5, completionTokens: 5), at: mini).description == "0.00000375")
        #expect(PriceBook.cost(of: Usage(promptTokens: 1000, completionTokens: 0, cachedTokens: 400), at: mini).description
            == "0.00012")
        #expect(PriceBook.cost(of: Usage(promptTokens: 1, completionTokens: 0), at: price("0.01875", "0")).description
            == "0.00000001875")
        // Anthropic: cache writes at 1.25 × input.
        let sonnet = price("3", "15", "0.30")
        let usage = Usage(promptTokens: 1_100, completionTokens: 100, cachedTokens: 0, cacheWriteTokens: 1_000)
        #expect(PriceBook.cost(of: usage, at: sonnet).description == "0.00555")
    }

    @Test func datedSnapshotsFindTheirModelsPrice() {
        let book = PriceBook()
        book.replace(with: [
            ModelPrice(model: "gpt-4o", provider: "openai", inputPerMillion: Decimal12(1), outputPerMillion: Decimal12(1)),
            ModelPrice(model: "gpt-4o-mini", provider: "openai", inputPerMillion: Decimal12(2), outputPerMillion: Decimal12(2)),
        ])
        #expect(book.price(for: "gpt-4o-mini-2024-07-18")?.model == "gpt-4o-mini")
        #expect(book.price(for: "gpt-4o-2024-08-06")?.model == "gpt-4o")
        #expect(book.price(for: "gpt-4") == nil)
    }
}
