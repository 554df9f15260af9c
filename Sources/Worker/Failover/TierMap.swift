import Common

/// Equivalent models across providers, for zero-configuration failover: every known model has a
/// tier, and every provider has its model for each tier. A request for `gpt-4o` that OpenAI
/// cannot serve goes to Anthropic's flagship, then Gemini's.
///
/// | tier     | OpenAI        | Anthropic          | Gemini           |
/// |----------|---------------|--------------------|------------------|
/// | flagship | gpt-4o        | claude-sonnet-4-5  | gemini-2.5-pro   |
/// | mid      | gpt-4.1-mini  | claude-haiku-4-5   | gemini-2.5-flash |
/// | small    | gpt-4o-mini   | claude-3-5-haiku-latest | gemini-2.0-flash |
struct TierMap: Sendable {
    enum Tier: String, Sendable, CaseIterable {
        case flagship, mid, small
    }

    static let builtInModels: [String: Tier] = [
        // OpenAI
        "gpt-5": .flagship, "gpt-4.1": .flagship, "gpt-4o": .flagship, "chatgpt-4o-latest": .flagship,
        "o3": .flagship, "o1": .flagship,
        "gpt-5-mini": .mid, "gpt-4.1-mini": .mid, "o4-mini": .mid, "o3-mini": .mid,
        "gpt-5-nano": .small, "gpt-4.1-nano": .small, "gpt-4o-mini": .small,
        // Anthropic
        "claude-opus-4-1": .flagship, "claude-opus-4-0": .flagship, "claude-opus-4": .flagship,
        "claude-sonnet-4-5": .flagship, "claude-sonnet-4-0": .flagship, "claude-sonnet-4": .flagship,
        "claude-3-7-sonnet": .flagship, "claude-3-5-sonnet": .flagship,
        "claude-haiku-4-5": .mid,
        "claude-3-5-haiku": .small, "claude-3-haiku": .small,
        // Gemini
        "gemini-2.5-pro": .flagship,
        "gemini-2.5-flash": .mid,
        "gemini-2.5-flash-lite": .small, "gemini-2.0-flash": .small, "gemini-2.0-flash-lite": .small,
    ]

    static let builtInDefaults: [ProviderID: [Tier: String]] = [
        .openai: [.flagship: "gpt-4o", .mid: "gpt-4.1-mini", .small: "gpt-4o-mini"],
        .anthropic: [.flagship: "claude-sonnet-4-5", .mid: "claude-haiku-4-5", .small: "claude-3-5-haiku-latest"],
        .gemini: [.flagship: "gemini-2.5-pro", .mid: "gemini-2.5-flash", .small: "gemini-2.0-flash"],
    ]

    private let models: [String: Tier]
    private let defaults: [ProviderID: [Tier: String]]
    /// Known names longest first, so `gpt-4o-mini-2024-07-18` matches `gpt-4o-mini`, not `gpt-4o`.
    private let namesByLength: [String]

    init(routing: RoutingConfig = RoutingConfig()) {
        var models = Self.builtInModels
        for (model, tier) in routing.tierOverrides { models[model] = Tier(rawValue: tier) }
        var defaults = Self.builtInDefaults
        for (provider, byTier) in routing.tierDefaults {
            guard let id = ProviderID(rawValue: provider) else { continue }
            for (tier, model) in byTier { if let tier = Tier(rawValue: tier) { defaults[id, default: [:]][tier] = model } }
        }
        self.models = models
        self.defaults = defaults
        namesByLength = models.keys.sorted { $0.count > $1.count }
    }

    /// The tier of `model`: a known name or a dated snapshot of one; else guessed from the name.
    func tier(of model: String) -> Tier {
        let name = model.lowercased()
        if let tier = models[name] { return tier }
        for known in namesByLength where name.hasPrefix(known + "-") { return models[known]! }
        if name.contains("nano") || name.contains("flash-lite") || name.contains("-haiku") && !name.contains("4-5") {
            return .small
        }
        if name.contains("mini") || name.contains("flash") || name.contains("haiku") { return .mid }
        return .flagship
    }

    /// `provider`'s model for the tier of `model`.
    func equivalent(of model: String, on provider: ProviderID) -> String? {
        defaults[provider]?[tier(of: model)]
    }
}
