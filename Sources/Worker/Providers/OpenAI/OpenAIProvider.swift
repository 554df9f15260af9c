import Common

/// OpenAI speaks the clients' own format, so translation is nearly a passthrough: the client's
/// fields go upstream untouched (OpenAI validates them itself), with two changes: the model name
/// the chain chose, and `stream_options.include_usage` always on, so every stream can be priced.
struct OpenAIProvider: Provider {
    var id: ProviderID { .openai }

    func makeRequest(_ request: ChatRequest, model: String, stream: Bool, credentials: ProviderCredentials)
        throws(GatewayError) -> UpstreamRequest
    {
        var body = request.body
        body["model"] = .string(model)
        body["stream"] = stream ? true : nil
        if stream {
            var options = body["stream_options"]?.objectValue ?? JSONObject()
            options["include_usage"] = true
            body["stream_options"] = .object(options)
        } else {
            body["stream_options"] = nil
        }
        return UpstreamRequest(
            url: credentials.baseURL.trimmingTrailingSlashes() + "/chat/completions",
            headers: [
                .init("Authorization", "Bearer \(credentials.apiKey)"),
                .init("Content-Type", "application/json"),
                .init("Accept", stream ? "text/event-stream" : "application/json"),
            ],
            body: JSONValue.object(body).serialized())
    }

    func translateResponse(_ body: [UInt8], context: TranslationContext) throws(GatewayError) -> TranslatedResponse {
        // The answer goes to the client as it came; only `usage` and `model` are read, so the
        // rest (the choices) is checked but not built.
        guard let (object, kinds) = try? JSONParser.parseMembers(body, keep: Self.membersRead, kindsOf: Self.membersChecked),
            kinds["choices"] == UInt8(ascii: "[")
        else { throw UpstreamErrors.malformed(.openai) }
        let usage = object["usage"].map(Self.usage(from:)) ?? Usage()
        return TranslatedResponse(
            body: .object(object), usage: usage, model: object["model"]?.stringValue ?? context.model, passthrough: body)
    }

    func translateError(status: Int, headers: [UpstreamRequest.Header], body: [UInt8]) -> GatewayError {
        let error = (try? JSONParser.parse(body))?["error"]
        let message = error?["message"]?.stringValue
        return UpstreamErrors.make(
            provider: .openai, status: status, message: message,
            type: error?["type"]?.stringValue, code: error?["code"]?.stringValue ?? error?["code"]?.numberValue?.text,
            param: error?["param"]?.stringValue)
    }

    func makeStreamTranslator(context: TranslationContext) -> any StreamTranslator {
        OpenAIStreamTranslator(context: context)
    }

    private static let membersRead = ["model", "usage"]
    private static let membersChecked = ["choices"]

    /// Reads OpenAI's `usage` object into `Usage`.
    static func usage(from value: JSONValue) -> Usage {
        Usage(
            promptTokens: value["prompt_tokens"]?.intValue ?? 0,
            completionTokens: value["completion_tokens"]?.intValue ?? 0,
            cachedTokens: value["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
            cacheWriteTokens: 0,
            reasoningTokens: value["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }
}

/// OpenAI's stream is already in the clients' format: chunks pass through as they arrive. The
/// usage chunk the gateway asked for is read for pricing and forwarded only when the client
/// asked for it too; `[DONE]` marks a complete stream.
struct OpenAIStreamTranslator: StreamTranslator {
    let context: TranslationContext
    private var decoder = SSEDecoder()
    private var finished = false

    init(context: TranslationContext) { self.context = context }

    mutating func consume(_ bytes: [UInt8]) -> [StreamOutput] {
        guard !finished else { return [] }
        var outputs: [StreamOutput] = []
        for event in decoder.consume(bytes) {
            outputs += translate(event)
            if finished { break }
        }
        if decoder.isOverflowed && !finished {
            finished = true
            outputs.append(.error(UpstreamErrors.malformed(.openai)))
        }
        return outputs
    }

    mutating func finish() -> [StreamOutput] {
        guard !finished else { return [] }
        var outputs: [StreamOutput] = []
        if let last = decoder.finish() { outputs += translate(last) }
        if !finished {
            finished = true
            outputs.append(.error(UpstreamErrors.truncated(.openai)))
        }
        return outputs
    }

    private mutating func translate(_ event: SSEEvent) -> [StreamOutput] {
        let bytes = event.bytes
        if bytes.elementsEqual("[DONE]".utf8) {
            finished = true
            return [.done]
        }
        guard !bytes.isEmpty else { return [] }
        // Chunks go on as the provider sent them; only `error` and `usage` are read, the rest is
        // checked but not built (this runs for every chunk of every stream).
        guard let (object, _) = try? JSONParser.parseMembers(bytes, keep: Self.chunkMembersRead) else {
            finished = true
            return [.error(UpstreamErrors.malformed(.openai))]
        }
        if let error = object["error"], !error.isNull {
            finished = true
            return [.error(UpstreamErrors.make(
                provider: .openai, status: 502, message: error["message"]?.stringValue,
                type: error["type"]?.stringValue, code: error["code"]?.stringValue, param: nil))]
        }
        var outputs: [StreamOutput] = []
        if let usage = object["usage"], !usage.isNull {
            outputs.append(.usage(OpenAIProvider.usage(from: usage)))
            // Once per stream: is this the usage-only chunk (no choices) the gateway asked for?
            let isUsageOnly = (try? JSONParser.parse(bytes))?["choices"]?.arrayValue?.isEmpty ?? true
            if isUsageOnly && !context.includeUsage { return outputs }
        }
        outputs.append(.rawChunk(bytes))
        return outputs
    }

    private static let chunkMembersRead = ["error", "usage"]
}

extension String {
    func trimmingTrailingSlashes() -> String {
        var text = self
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
