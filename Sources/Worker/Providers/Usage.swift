import Common

/// Token counts of one completion, in OpenAI's terms: `promptTokens` counts every input token,
/// `cachedTokens` the part of them read from the provider's prompt cache, `cacheWriteTokens` the
/// part written to it (Anthropic bills those higher), `reasoningTokens` the part of
/// `completionTokens` spent thinking.
struct Usage: Equatable, Sendable {
    var promptTokens = 0
    var completionTokens = 0
    var cachedTokens = 0
    var cacheWriteTokens = 0
    var reasoningTokens = 0

    var totalTokens: Int { promptTokens + completionTokens }

    /// OpenAI's `usage` object.
    var json: JSONValue {
        [
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "total_tokens": .int(totalTokens),
            "prompt_tokens_details": ["cached_tokens": .int(cachedTokens)],
            "completion_tokens_details": ["reasoning_tokens": .int(reasoningTokens)],
        ]
    }
}
