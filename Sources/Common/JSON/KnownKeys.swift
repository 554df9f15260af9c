#if canImport(Glibc)
import Glibc
#endif

/// Member names longer than a Swift small string (15 bytes) that the providers' answers and the
/// clients' requests carry on every request. The parser hands out these constants, which live in
/// the binary, instead of allocating a String for each occurrence.
enum KnownKeys {
    static let spellings: [StaticString] = [
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

    /// Each spelling with its String, made once here and shared by every answer after.
    private static let table: [(spelling: StaticString, name: String)] = spellings.map { ($0, $0.description) }

    /// The known name spelled by `bytes`, if any. A static string's bytes live in the binary, so
    /// they are compared where they are.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let start = bytes.baseAddress else { return nil }
        for entry in table where entry.spelling.utf8CodeUnitCount == bytes.count
            && memcmp(entry.spelling.utf8Start, start, bytes.count) == 0
        {
            return entry.name
        }
        return nil
    }
}
