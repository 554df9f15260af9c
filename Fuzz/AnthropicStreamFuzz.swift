// The libFuzzer target of the Anthropic translator (scripts/fuzz-anthropic-stream builds it with
// the JSON, error, provider-seam and SSE sources into one module: plain Swift, no Foundation).
//
// Each input is fed to the stream translator whole and split in two at a point taken from its
// first byte; the outputs must be identical, and well formed: nothing after `.done` or `.error`,
// and exactly one `.usage` before a `.done`. The same bytes also go through translateResponse,
// translateError and, when they parse as a client request, makeRequest, whose body must be JSON.
// Any trap is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func anthropicStreamFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    AnthropicStreamFuzz.run(bytes)
    return 0
}

enum AnthropicStreamFuzz {
    static let provider = AnthropicProvider()

    static func run(_ bytes: [UInt8]) {
        let first = Int(bytes.first ?? 0)
        let context = TranslationContext(
            requestID: "req_fuzz", model: "claude-sonnet-4-5", created: 1_760_000_000, includeUsage: first & 1 == 1)

        let whole = translate([bytes], context: context)
        let point = first * (bytes.count + 1) / 256
        let split = translate([Array(bytes[..<point]), Array(bytes[point...])], context: context)
        precondition(whole == split, "outputs differ when split at byte \(point)")
        checkWellFormed(whole)

        _ = try? provider.translateResponse(bytes, context: context)
        let error = provider.translateError(status: 400 + first, headers: [], body: bytes)
        precondition(error.status >= 400 && error.status <= 599 && !error.message.isEmpty)

        if let request = try? ChatRequest.parse(bytes),
            let upstream = try? provider.makeRequest(
                request, model: "claude-sonnet-4-5", stream: request.stream,
                credentials: ProviderCredentials(apiKey: "k", baseURL: "https://api.anthropic.com"))
        {
            precondition((try? JSONParser.parse(upstream.body)) != nil, "makeRequest produced a body that is not JSON")
        }
    }

    static func translate(_ pieces: [[UInt8]], context: TranslationContext) -> [StreamOutput] {
        var translator = provider.makeStreamTranslator(context: context)
        var outputs: [StreamOutput] = []
        for piece in pieces { outputs += translator.consume(piece) }
        outputs += translator.finish()
        precondition(translator.finish().isEmpty, "finish() yields outputs twice")
        precondition(translator.consume([0x0A, 0x0A]).isEmpty, "consume() yields outputs after finish()")
        return outputs
    }

    static func checkWellFormed(_ outputs: [StreamOutput]) {
        guard let last = outputs.last else { preconditionFailure("a stream ended with no outputs") }
        var usages = 0
        for (index, output) in outputs.enumerated() {
            switch output {
            case .done, .error: precondition(index == outputs.count - 1, "outputs after the end of the stream")
            case .usage: usages += 1
            case .rawChunk: preconditionFailure("the Anthropic translator builds its chunks")
            case .chunk(let chunk):
                precondition(chunk["object"] == "chat.completion.chunk" && chunk["choices"]?.arrayValue != nil)
                precondition((try? JSONParser.parse(chunk.serialized())) == chunk, "a chunk does not survive serialization")
            }
        }
        switch last {
        case .done: precondition(usages == 1, "a complete stream reports usage \(usages) times")
        case .error: precondition(usages <= 1)
        default: preconditionFailure("a stream ended without .done or .error")
        }
    }
}
