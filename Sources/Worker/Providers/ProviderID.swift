/// The upstream providers the gateway speaks to, in the order the failover chain tries them.
enum ProviderID: String, CaseIterable, Sendable, Comparable {
    case openai, anthropic, gemini

    /// The variable whose presence enables the provider.
    var apiKeyVariable: String {
        switch self {
        case .openai: "OPENAI_API_KEY"
        case .anthropic: "ANTHROPIC_API_KEY"
        case .gemini: "GEMINI_API_KEY"
        }
    }

    var baseURLVariable: String {
        switch self {
        case .openai: "OPENAI_BASE_URL"
        case .anthropic: "ANTHROPIC_BASE_URL"
        case .gemini: "GEMINI_BASE_URL"
        }
    }

    /// The provider's public API, as its own SDKs default to.
    var defaultBaseURL: String {
        switch self {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .gemini: "https://generativelanguage.googleapis.com"
        }
    }

    /// The provider a bare model name belongs to, by its family prefix; nil for an unknown model.
    static func owning(model: String) -> ProviderID? {
        let name = model.lowercased()
        for prefix in ["gpt-", "o1", "o3", "o4", "chatgpt-"] where name.hasPrefix(prefix) { return .openai }
        if name.hasPrefix("claude-") { return .anthropic }
        if name.hasPrefix("gemini-") { return .gemini }
        return nil
    }

    /// Splits `provider/model` into its parts; a bare name is routed by `owning(model:)`.
    static func resolve(_ requested: String) -> (provider: ProviderID, model: String)? {
        if let slash = requested.firstIndex(of: "/") {
            let prefix = requested[..<slash].lowercased()
            let model = String(requested[requested.index(after: slash)...])
            guard let provider = ProviderID(rawValue: prefix == "google" ? "gemini" : prefix), !model.isEmpty else {
                return nil
            }
            return (provider, model)
        }
        guard let provider = owning(model: requested) else { return nil }
        return (provider, requested)
    }

    /// Position in the metrics' provider families (`Metric.providers`).
    var metricIndex: Int { ProviderID.allCases.firstIndex(of: self)! }

    static func < (lhs: ProviderID, rhs: ProviderID) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
