import Common

/// Google Gemini (the Generative Language API, `v1beta`), translated to and from OpenAI's Chat
/// Completions. The work is split by direction: `GeminiRequestTranslator` builds the request,
/// `GeminiResponseTranslator` reads a complete answer, `GeminiStreamTranslator` reads the SSE
/// stream and `GeminiErrorTranslator` reads `google.rpc.Status` errors. All of it is pure: ids
/// derive from the context's request id, so the same input always gives the same output.
struct GeminiProvider: Provider {
    var id: ProviderID { .gemini }

    func makeRequest(_ request: ChatRequest, model: String, stream: Bool, credentials: ProviderCredentials)
        throws(GatewayError) -> UpstreamRequest
    {
        let body = try GeminiRequestTranslator(request: request, model: model).body()
        var base = credentials.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let name = try Self.modelPath(model)
        // The key travels in a header, never in the URL: URLs end up in logs.
        let url = base + "/v1beta/models/" + name + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent")
        return UpstreamRequest(
            url: url,
            headers: [
                .init("x-goog-api-key", credentials.apiKey),
                .init("Content-Type", "application/json"),
                .init("Accept", stream ? "text/event-stream" : "application/json"),
            ],
            body: JSONValue.object(body).serialized())
    }

    func translateResponse(_ body: [UInt8], context: TranslationContext) throws(GatewayError) -> TranslatedResponse {
        try GeminiResponseTranslator(context: context).translate(body)
    }

    func translateError(status: Int, headers: [UpstreamRequest.Header], body: [UInt8]) -> GatewayError {
        GeminiErrorTranslator.translate(status: status, body: body)
    }

    func makeStreamTranslator(context: TranslationContext) -> any StreamTranslator {
        GeminiStreamTranslator(context: context)
    }

    /// The model id as a URL path segment. Gemini ids are `[a-z0-9.-]`; anything that would need
    /// escaping (or could change the path) is refused rather than escaped.
    static func modelPath(_ model: String) throws(GatewayError) -> String {
        var name = Substring(model)
        if name.hasPrefix("models/") { name = name.dropFirst("models/".count) }
        let allowed = !name.isEmpty && name.utf8.count <= 128
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                    true
                default: false
                }
            }
        guard allowed, name != ".", name != ".." else {
            throw .invalidRequest(
                "'\(model.prefix(80))' is not a valid Gemini model name.", code: "invalid_value", param: "model")
        }
        return String(name)
    }
}

/// What a Gemini candidate says, read once for both the complete answer and the stream.
enum GeminiCandidate {
    /// Gemini's `finishReason` as OpenAI's `finish_reason`. A function call ends with `STOP`, so
    /// `tool_calls` is derived from the parts. Filters of every kind (safety, recitation,
    /// blocklists, personal data, unsupported language, images) read as `content_filter`; the
    /// malformed/unexpected tool-call endings and `OTHER` read as `stop`, as no OpenAI value fits.
    static func finishReason(_ reason: String, sawToolCall: Bool) -> String {
        switch reason {
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER":
            return "content_filter"
        default: return sawToolCall ? "tool_calls" : "stop"
        }
    }

    /// One function-call part as an OpenAI tool call.
    struct ToolCall {
        /// Its position among the candidate's calls (`tool_calls[].index` in a stream).
        var index: Int
        var id: String
        var name: String
        var arguments: String
    }

    /// A part of a candidate's content, in the order the model produced it. Thought parts
    /// (`thought: true`) are the model's reasoning summary, not its answer, and are left out.
    enum Piece {
        case text(String)
        case toolCall(ToolCall)
    }

    /// Reads `parts`; `nextCall` numbers the function calls of the candidate across chunks.
    static func pieces(
        of parts: [JSONValue], candidate: Int, nextCall: inout Int, requestID: String
    ) -> [Piece] {
        var pieces: [Piece] = []
        for part in parts {
            guard case .object(let object) = part else { continue }
            if object["thought"]?.boolValue == true { continue }
            if let call = object["functionCall"]?.objectValue {
                let name = call["name"]?.stringValue ?? ""
                let arguments: String
                switch call["args"] {
                case .some(.object(let args)): arguments = JSONValue.object(args).jsonText
                default: arguments = "{}"
                }
                let id = GeminiToolCallID.make(
                    requestID: requestID, candidate: candidate, index: nextCall,
                    geminiID: call["id"]?.stringValue, signature: object["thoughtSignature"]?.stringValue)
                pieces.append(.toolCall(ToolCall(index: nextCall, id: id, name: name, arguments: arguments)))
                nextCall += 1
            } else if let text = object["text"]?.stringValue {
                pieces.append(.text(text))
            }
        }
        return pieces
    }

    /// `usageMetadata` in OpenAI's terms: thinking is output (OpenAI counts reasoning inside
    /// completion tokens), and tool-use prompt tokens (results of built-in tools) are input.
    static func usage(_ metadata: JSONValue?) -> Usage {
        guard let metadata else { return Usage() }
        func count(_ key: String) -> Int { max(0, metadata[key]?.intValue ?? 0) }
        let thoughts = count("thoughtsTokenCount")
        return Usage(
            promptTokens: count("promptTokenCount") + count("toolUsePromptTokenCount"),
            completionTokens: count("candidatesTokenCount") + thoughts,
            cachedTokens: count("cachedContentTokenCount"),
            cacheWriteTokens: 0,
            reasoningTokens: thoughts)
    }

    /// `chatcmpl-` and Gemini's `responseId` when it is a plain token, else the gateway's request id.
    static func completionID(responseID: String?, requestID: String) -> String {
        if let responseID, !responseID.isEmpty, responseID.utf8.count <= 128,
            responseID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        {
            return "chatcmpl-" + responseID
        }
        return "chatcmpl-" + requestID
    }

    /// The `modelVersion` Gemini reports, else the model the request was sent to.
    static func model(_ value: JSONValue?, fallback: String) -> String {
        if let model = value?.stringValue, !model.isEmpty { return model }
        return fallback
    }

    /// An answer without candidates whose prompt was blocked (`promptFeedback.blockReason`).
    static func isBlockedPrompt(_ response: JSONObject) -> Bool {
        let candidates = response["candidates"]?.arrayValue ?? []
        return candidates.isEmpty && response["promptFeedback"]?["blockReason"]?.stringValue != nil
    }
}
