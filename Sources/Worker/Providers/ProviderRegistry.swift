import Common

/// The providers this worker can call: every implemented translator, and the credentials of
/// those the configuration enables (a provider is enabled by its API key).
struct ProviderRegistry: Sendable {
    private let translators: [ProviderID: any Provider]
    private let credentials: [ProviderID: ProviderCredentials]
    /// Enabled providers, in failover order (fixed for the worker's life, so computed once).
    let enabled: [ProviderID]

    init(config: GatewayConfig) {
        translators = [.openai: OpenAIProvider(), .anthropic: AnthropicProvider(), .gemini: GeminiProvider()]
        var credentials: [ProviderID: ProviderCredentials] = [:]
        let settings: [(ProviderID, ProviderSettings)] = [
            (.openai, config.openAI), (.anthropic, config.anthropic), (.gemini, config.gemini),
        ]
        for (id, setting) in settings {
            if let key = setting.apiKey { credentials[id] = ProviderCredentials(apiKey: key, baseURL: setting.baseURL) }
        }
        self.credentials = credentials
        enabled = ProviderID.allCases.filter { credentials[$0] != nil }
    }

    func translator(for id: ProviderID) -> (any Provider)? { translators[id] }

    /// The credentials of an enabled provider; nil when its key is not set.
    func credentials(for id: ProviderID) -> ProviderCredentials? {
        translators[id] == nil ? nil : credentials[id]
    }
}
