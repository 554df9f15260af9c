/// Failover and per-provider settings that do not fit in variables: the JSON file named by
/// GATEWAY_CONFIG. Everything is optional; an absent file means the built-in behaviour.
///
/// ```json
/// {
///   "failover": {
///     "enabled": true,
///     "max_attempts": 3,
///     "chains": {"gpt-4o": ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"]},
///     "tiers": {"models": {"my-finetune": "small"}, "defaults": {"anthropic": {"flagship": "claude-opus-4-1"}}},
///     "circuit_breaker": {"failures": 5, "cooldown": "10s", "max_cooldown": "5m"}
///   },
///   "providers": {"anthropic": {"timeout": "45s"}}
/// }
/// ```
public struct RoutingConfig: Sendable, Equatable {
    public var failoverEnabled = true
    /// Upstream attempts per request at most, the first included.
    public var maxAttempts = 3
    /// Explicit chains by requested model: `provider/model` steps, tried in order.
    public var chains: [String: [String]] = [:]
    /// Tier of a model, overriding the built-in map (`flagship`, `mid`, `small`).
    public var tierOverrides: [String: String] = [:]
    /// Each provider's model for a tier, overriding the built-in defaults.
    public var tierDefaults: [String: [String: String]] = [:]
    public var breaker = CircuitBreakerSettings()
    /// UPSTREAM_TIMEOUT per provider.
    public var providerTimeoutNanos: [String: UInt64] = [:]

    public init() {}

    public static let providers: Set<String> = ["openai", "anthropic", "gemini"]
    public static let tiers: Set<String> = ["flagship", "mid", "small"]

    /// Reads and validates the file; errors name the field (as `GATEWAY_CONFIG: failover.max_attempts …`).
    public static func load(path: String) throws(ConfigError) -> RoutingConfig {
        guard let text = EnvironmentFile.readFile(path) else {
            throw ConfigError("GATEWAY_CONFIG", "cannot read \(path)")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw ConfigError("GATEWAY_CONFIG", "\(path) is not valid JSON: \(error.description)")
        }
        return try parse(value)
    }

    public static func parse(_ value: JSONValue) throws(ConfigError) -> RoutingConfig {
        var config = RoutingConfig()
        guard case .object(let root) = value else { throw invalid("", "must be a JSON object") }
        try allowOnly(root, ["failover", "providers"], at: "")
        if let failover = root["failover"] {
            guard case .object(let object) = failover else { throw invalid("failover", "must be an object") }
            try allowOnly(object, ["enabled", "max_attempts", "chains", "tiers", "circuit_breaker"], at: "failover")
            if let enabled = object["enabled"] {
                guard let flag = enabled.boolValue else { throw invalid("failover.enabled", "must be true or false") }
                config.failoverEnabled = flag
            }
            if let attempts = object["max_attempts"] {
                guard let number = attempts.intValue, (1...10).contains(number) else {
                    throw invalid("failover.max_attempts", "must be a whole number from 1 to 10")
                }
                config.maxAttempts = number
            }
            if let chains = object["chains"] {
                guard case .object(let table) = chains else { throw invalid("failover.chains", "must be an object") }
                for (model, steps) in table {
                    let path = "failover.chains.\(model)"
                    guard case .array(let list) = steps, !list.isEmpty else { throw invalid(path, "must be a non-empty array") }
                    var parsed: [String] = []
                    for step in list {
                        guard let text = step.stringValue, let slash = text.firstIndex(of: "/"),
                            providers.contains(String(text[..<slash])), text.index(after: slash) < text.endIndex
                        else { throw invalid(path, "steps must be \"provider/model\" with provider openai, anthropic or gemini") }
                        parsed.append(text)
                    }
                    config.chains[model] = parsed
                }
            }
            if let tiers = object["tiers"] {
                guard case .object(let table) = tiers else { throw invalid("failover.tiers", "must be an object") }
                try allowOnly(table, ["models", "defaults"], at: "failover.tiers")
                for (model, tier) in table["models"]?.objectValue ?? JSONObject() {
                    guard let name = tier.stringValue, Self.tiers.contains(name) else {
                        throw invalid("failover.tiers.models.\(model)", "must be flagship, mid or small")
                    }
                    config.tierOverrides[model] = name
                }
                for (provider, defaults) in table["defaults"]?.objectValue ?? JSONObject() {
                    guard providers.contains(provider), case .object(let byTier) = defaults else {
                        throw invalid("failover.tiers.defaults.\(provider)", "must name openai, anthropic or gemini and hold an object")
                    }
                    var models: [String: String] = [:]
                    for (tier, model) in byTier {
                        guard Self.tiers.contains(tier), let name = model.stringValue, !name.isEmpty else {
                            throw invalid("failover.tiers.defaults.\(provider).\(tier)", "tiers are flagship, mid and small; values are model names")
                        }
                        models[tier] = name
                    }
                    config.tierDefaults[provider] = models
                }
            }
            if let breaker = object["circuit_breaker"] {
                guard case .object(let table) = breaker else { throw invalid("failover.circuit_breaker", "must be an object") }
                try allowOnly(table, ["failures", "cooldown", "max_cooldown"], at: "failover.circuit_breaker")
                if let failures = table["failures"] {
                    guard let number = failures.intValue, (1...1000).contains(number) else {
                        throw invalid("failover.circuit_breaker.failures", "must be a whole number from 1 to 1000")
                    }
                    config.breaker.failures = number
                }
                if let cooldown = table["cooldown"] {
                    config.breaker.cooldownNanos = try duration(cooldown, "failover.circuit_breaker.cooldown")
                }
                if let maximum = table["max_cooldown"] {
                    config.breaker.maxCooldownNanos = try duration(maximum, "failover.circuit_breaker.max_cooldown")
                }
                config.breaker.maxCooldownNanos = max(config.breaker.maxCooldownNanos, config.breaker.cooldownNanos)
            }
        }
        if let providerTable = root["providers"] {
            guard case .object(let table) = providerTable else { throw invalid("providers", "must be an object") }
            for (provider, settings) in table {
                guard providers.contains(provider), case .object(let object) = settings else {
                    throw invalid("providers.\(provider)", "must name openai, anthropic or gemini and hold an object")
                }
                try allowOnly(object, ["timeout"], at: "providers.\(provider)")
                if let timeout = object["timeout"] {
                    config.providerTimeoutNanos[provider] = try duration(timeout, "providers.\(provider).timeout")
                }
            }
        }
        return config
    }

    private static func duration(_ value: JSONValue, _ path: String) throws(ConfigError) -> UInt64 {
        let text = value.stringValue ?? value.numberValue?.text
        guard let text, let nanos = DurationParser.nanoseconds(text), nanos >= 1_000_000 else {
            throw invalid(path, "must be a duration such as 500ms, 30s or 2m")
        }
        return nanos
    }

    private static func allowOnly(_ object: JSONObject, _ keys: Set<String>, at path: String) throws(ConfigError) {
        for key in object.keys where !keys.contains(key) {
            throw invalid(path.isEmpty ? key : "\(path).\(key)", "is not a known setting")
        }
    }

    private static func invalid(_ path: String, _ problem: String) -> ConfigError {
        ConfigError("GATEWAY_CONFIG", path.isEmpty ? problem : "\(path) \(problem)")
    }
}

/// When a failing provider is left alone, and for how long.
public struct CircuitBreakerSettings: Sendable, Equatable {
    /// Consecutive failures (5xx, timeouts, connection errors) that open the circuit.
    public var failures = 5
    public var cooldownNanos: UInt64 = 10_000_000_000
    public var maxCooldownNanos: UInt64 = 300_000_000_000
    public init() {}
}
