import Common
import Testing

@testable import Worker

/// OpenAI answers are the clients' own format: they must reach the client byte for byte, while
/// the gateway still reads usage, model and errors out of them.
struct OpenAITranslatorTests {
    let context = TranslationContext(requestID: "req_1", model: "gpt-4o-mini", created: 1, includeUsage: false)

    @Test func aCompletionIsPassedOnAsItCameAndItsUsageRead() throws {
        let body = Array("""
            {"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18", "choices":[{"index":0,\
            "message":{"role":"assistant","content":"h\\u00e9llo \\ud83d\\ude00"},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":8,"completion_tokens":9,"total_tokens":17,\
            "prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}}
            """.utf8)
        let answer = try OpenAIProvider().translateResponse(body, context: context)
        #expect(answer.bytes == body)
        #expect(answer.model == "gpt-4o-mini-2024-07-18")
        #expect(answer.usage.promptTokens == 8 && answer.usage.completionTokens == 9)
        #expect(answer.usage.cachedTokens == 3 && answer.usage.reasoningTokens == 2)
    }

    @Test(arguments: [
        "{\"object\":\"chat.completion\"}", "{\"choices\":{}}", "[]", "{\"choices\":[1,]}", "{\"choices\":[]} x",
        "{\"choices\":[\"\\ud800\"]}",
    ])
    func aMalformedCompletionIsRefused(text: String) {
        #expect(throws: GatewayError.self) { try OpenAIProvider().translateResponse(Array(text.utf8), context: context) }
    }

    @Test(arguments: [false, true])
    func streamChunksPassThroughAndTheUsageChunkOnlyWhenAsked(includeUsage: Bool) {
        let first = #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi \"x\""}}]}"#
        let usage = #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#
        let stream = "data: \(first)\n\ndata: \(usage)\n\ndata: [DONE]\n\n"
        var translator = OpenAIStreamTranslator(
            context: TranslationContext(requestID: "r", model: "gpt-4o", created: 1, includeUsage: includeUsage))
        var outputs: [StreamOutput] = []
        for byte in Array(stream.utf8) { outputs += translator.consume([byte]) }
        outputs += translator.finish()
        var expected: [StreamOutput] = [.rawChunk(Array(first.utf8)), .usage(Usage(promptTokens: 5, completionTokens: 2))]
        if includeUsage { expected.append(.rawChunk(Array(usage.utf8))) }
        expected.append(.done)
        #expect(outputs == expected)
    }

    @Test func anErrorEventOrAMalformedChunkEndsTheStream() {
        for (event, type) in [
            (#"{"error":{"message":"overloaded","type":"server_error"}}"#, "server_error"), ("{not json", "api_error"),
        ] {
            var translator = OpenAIStreamTranslator(context: context)
            let outputs = translator.consume(Array("data: \(event)\n\ndata: {\"choices\":[]}\n\n".utf8))
            guard outputs.count == 1, case .error(let error) = outputs[0] else {
                Issue.record("expected one error, got \(outputs)")
                continue
            }
            #expect(error.type == type || error.status >= 500)
        }
    }
}
