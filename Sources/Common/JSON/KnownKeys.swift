/// Member names longer than a Swift small string (15 bytes) that the providers' answers and the
/// clients' requests carry on every request. The parser hands out these constants, which live in
/// the binary, instead of allocating a String for each occurrence.
enum KnownKeys {
    static let names: [String] = [
        // OpenAI usage and answers
        "completion_tokens", "prompt_tokens_details", "completion_tokens_details", "reasoning_tokens",
        "accepted_prediction_tokens", "rejected_prediction_tokens", "system_fingerprint",
        // OpenAI requests
        "max_completion_tokens", "frequency_penalty", "presence_penalty", "parallel_tool_calls",
        // Anthropic usage
        "cache_read_input_tokens", "cache_creation_input_tokens",
        // Gemini usage and requests
        "promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount",
        "generationConfig", "systemInstruction", "functionDeclarations",
    ]

    static let longest = names.map(\.utf8.count).max()!

    /// The known name spelled by `bytes`, if any.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        for name in names where name.utf8.count == bytes.count && name.utf8.elementsEqual(bytes) { return name }
        return nil
    }
}
