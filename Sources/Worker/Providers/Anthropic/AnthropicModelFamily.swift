/// What the request translator must know about a Claude model that the API does not say: how
/// many tokens it may write, what to ask for when the client names no cap (Anthropic requires
/// `max_tokens` and has no default), and whether it accepts `temperature` and `top_p` together.
///
/// Output limits are those of `reference/pricing.md` (Anthropic's pricing and models pages via
/// the litellm cost map); Claude 3.7 Sonnet and Opus 4.5 are from Anthropic's models overview.
/// A model not in the table (a newer one) gets no clamp: Anthropic itself answers 400 if the
/// client's cap is above its limit, and the default of 8,192 is below every current limit.
struct AnthropicModelFamily: Equatable, Sendable {
    /// The largest `max_tokens` the model accepts; nil when unknown.
    var outputLimit: Int?
    /// `max_tokens` when the client sends neither `max_completion_tokens` nor `max_tokens`.
    var defaultMaxTokens: Int
    /// Opus 4.1 and every later model answer 400 "`temperature` and `top_p` cannot both be
    /// specified for this model" (observed on Sonnet 4.5, Haiku 4.5, Opus 4.1, Opus 4.5, Sonnet
    /// 4.6); only the families listed as `true` are known to take both.
    var acceptsTemperatureWithTopP: Bool

    static let unknown = AnthropicModelFamily(outputLimit: nil, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: false)

    private static let known: [String: AnthropicModelFamily] = [
        "claude-3-haiku": .init(outputLimit: 4096, defaultMaxTokens: 4096, acceptsTemperatureWithTopP: true),
        "claude-3-opus": .init(outputLimit: 4096, defaultMaxTokens: 4096, acceptsTemperatureWithTopP: true),
        "claude-3-sonnet": .init(outputLimit: 4096, defaultMaxTokens: 4096, acceptsTemperatureWithTopP: true),
        "claude-3-5-haiku": .init(outputLimit: 8192, defaultMaxTokens: 4096, acceptsTemperatureWithTopP: true),
        "claude-3-5-sonnet": .init(outputLimit: 8192, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: true),
        "claude-3-7-sonnet": .init(outputLimit: 64000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: true),
        "claude-opus-4": .init(outputLimit: 32000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: true),
        "claude-sonnet-4": .init(outputLimit: 64000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: true),
        "claude-opus-4-1": .init(outputLimit: 32000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: false),
        "claude-opus-4-5": .init(outputLimit: 64000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: false),
        "claude-sonnet-4-5": .init(outputLimit: 64000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: false),
        "claude-haiku-4-5": .init(outputLimit: 64000, defaultMaxTokens: 8192, acceptsTemperatureWithTopP: false),
    ]

    /// The family of an Anthropic model id or alias: `claude-3-5-haiku-20241022`,
    /// `claude-3-5-haiku-latest`, `claude-opus-4-0` and `claude-opus-4-20250514` all resolve by
    /// dropping a trailing snapshot date, `-latest` or `-0`.
    static func of(_ model: String) -> AnthropicModelFamily {
        var name = Substring(model.lowercased())
        if let dash = name.lastIndex(of: "-") {
            let tail = name[name.index(after: dash)...]
            if tail == "latest" || (tail.count == 8 && tail.allSatisfy(\.isASCII) && tail.allSatisfy(\.isNumber)) {
                name = name[..<dash]
            }
        }
        if name.hasSuffix("-0") { name = name.dropLast(2) }
        return known[String(name)] ?? unknown
    }
}
