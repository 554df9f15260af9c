import Common

/// Builds the body of `POST /v1/messages` from a client's Chat Completions request. The body is
/// built field by field from what maps, so nothing the client sends reaches Anthropic unread.
///
/// Mapped: `model` (the resolved provider model), `messages` (see `AnthropicMessageTranslator`),
/// `max_completion_tokens` / `max_tokens` → `max_tokens`, `stop` → `stop_sequences`,
/// `temperature`, `top_p`, `top_k` (an extension some clients send for Claude),
/// `safety_identifier` / `user` → `metadata.user_id`, `tools`, `tool_choice`,
/// `parallel_tool_calls` and `response_format` (see `AnthropicToolTranslator`); `stream` comes
/// from the pipeline. Adjusted rather than refused: `max_tokens` is capped at the model's output
/// limit, a temperature above 1 is sent as 1, and `top_p` is left out beside `temperature` on
/// the models that refuse both (see `AnthropicModelFamily`).
///
/// Refused with a 400 naming the field: `n` > 1, `logprobs: true`, `functions` and
/// `function_call` (deprecated; use tools), audio output (`audio`, `modalities` with "audio"),
/// `web_search_options`, and values Anthropic cannot take (see each mapping).
///
/// Dropped, because Anthropic has no equivalent and would refuse them: `frequency_penalty`,
/// `presence_penalty`, `logit_bias`, `seed`, `top_logprobs`, `reasoning_effort`, `verbosity`,
/// `service_tier`, `store`, `metadata`, `prompt_cache_key`, `prediction`, `stream_options` (the
/// gateway builds the usage chunk itself), `messages[].name`, `image_url.detail`, a tool's
/// `strict`, and any field OpenAI does not define.
struct AnthropicRequestTranslator {
    var model: String
    var stream: Bool

    func body(for request: ChatRequest) throws(GatewayError) -> JSONObject {
        let client = request.body
        try Self.refuseUnsupported(client)
        let family = AnthropicModelFamily.of(model)
        let conversation = try AnthropicMessageTranslator.translate(request.messages)
        let tools = try AnthropicToolTranslator.translate(client)

        var body = JSONObject()
        body["model"] = .string(model)
        body["max_tokens"] = .int(try Self.maxTokens(client, family: family))
        if !conversation.system.isEmpty { body["system"] = .array(conversation.system) }
        body["messages"] = .array(conversation.messages)
        if let stops = Self.stopSequences(client["stop"]) { body["stop_sequences"] = .array(stops) }
        let temperature = try Self.temperature(client["temperature"])
        if let temperature { body["temperature"] = temperature }
        if let topP = try Self.unitInterval(client["top_p"], "top_p"), temperature == nil || family.acceptsTemperatureWithTopP {
            body["top_p"] = topP
        }
        if let topK = try Self.topK(client["top_k"]) { body["top_k"] = topK }
        if let user = try Self.userID(client) { body["metadata"] = ["user_id": .string(user)] }
        if !tools.tools.isEmpty { body["tools"] = .array(tools.tools) }
        if let choice = tools.toolChoice { body["tool_choice"] = choice }
        if stream { body["stream"] = true }
        return body
    }

    private static func refuseUnsupported(_ client: JSONObject) throws(GatewayError) {
        if let n = client["n"]?.intValue, n > 1 {
            throw .invalidRequest(
                "'n' must be 1 for Anthropic models: they return one choice per request.", code: "unsupported_value",
                param: "n")
        }
        if client["logprobs"]?.boolValue == true {
            throw .invalidRequest(
                "'logprobs' is not supported for Anthropic models; leave it unset or false.", code: "unsupported_parameter",
                param: "logprobs")
        }
        for field in ["functions", "function_call"] where client[field].map({ !$0.isNull }) ?? false {
            throw .invalidRequest(
                "'\(field)' is deprecated and not supported for Anthropic models; use 'tools' and 'tool_choice'.",
                code: "unsupported_parameter", param: field)
        }
        let wantsAudio = client["modalities"]?.arrayValue?.contains("audio") ?? false
        if wantsAudio || (client["audio"].map { !$0.isNull } ?? false) {
            throw .invalidRequest(
                "Audio output is not supported for Anthropic models; remove 'audio' and the \"audio\" modality.",
                code: "unsupported_parameter", param: wantsAudio ? "modalities" : "audio")
        }
        if let search = client["web_search_options"], !search.isNull {
            throw .invalidRequest(
                "'web_search_options' is not supported for Anthropic models.", code: "unsupported_parameter",
                param: "web_search_options")
        }
    }

    /// The client's cap (`max_completion_tokens` first), else the family's default; never above
    /// the model's output limit, so a request written for another provider's larger limit (a
    /// failover, say) still runs instead of failing with a 400.
    private static func maxTokens(_ client: JSONObject, family: AnthropicModelFamily) throws(GatewayError) -> Int {
        let limit = family.outputLimit ?? Int.max
        for field in ["max_completion_tokens", "max_tokens"] {
            guard let value = client[field], !value.isNull else { continue }
            guard let tokens = value.intValue, tokens >= 1 else {
                throw .invalidRequest("'\(field)' must be at least 1.", code: "invalid_value", param: field)
            }
            return min(tokens, limit)
        }
        return min(family.defaultMaxTokens, limit)
    }

    /// A string or an array of strings; empty strings mean nothing and Anthropic refuses them.
    private static func stopSequences(_ value: JSONValue?) -> [JSONValue]? {
        let stops: [JSONValue]
        switch value {
        case .string(let stop)?: stops = [.string(stop)]
        case .array(let list)?: stops = list
        default: return nil
        }
        let kept = stops.filter { !($0.stringValue ?? "").isEmpty }
        return kept.isEmpty ? nil : kept
    }

    /// OpenAI's range is 0…2, Anthropic's 0…1: values above 1 are sent as 1, the most random
    /// Anthropic allows (scaling would make every ordinary 0.7 colder).
    private static func temperature(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
        guard let value, !value.isNull, let number = value.doubleValue else { return nil }
        guard number >= 0 && number <= 2 else {
            throw .invalidRequest("'temperature' must be between 0 and 2.", code: "invalid_value", param: "temperature")
        }
        return number > 1 ? .int(1) : value
    }

    private static func unitInterval(_ value: JSONValue?, _ field: String) throws(GatewayError) -> JSONValue? {
        guard let value, !value.isNull, let number = value.doubleValue else { return nil }
        guard number >= 0 && number <= 1 else {
            throw .invalidRequest("'\(field)' must be between 0 and 1.", code: "invalid_value", param: field)
        }
        return value
    }

    private static func topK(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        guard let k = value.intValue, k >= 1 else {
            throw .invalidRequest("'top_k' must be a positive integer.", code: "invalid_value", param: "top_k")
        }
        return .int(k)
    }

    /// `safety_identifier` (OpenAI's current end-user id) or the older `user`, as
    /// `metadata.user_id`, which Anthropic caps at 256 characters.
    private static func userID(_ client: JSONObject) throws(GatewayError) -> String? {
        for field in ["safety_identifier", "user"] {
            guard let value = client[field], !value.isNull else { continue }
            guard case .string(let id) = value else { throw ChatRequest.wrongType(field, "a string", value) }
            guard !id.isEmpty else { continue }
            guard id.count <= 256 else {
                throw .invalidRequest(
                    "'\(field)' is longer than the 256 characters Anthropic accepts as an end-user id.",
                    code: "invalid_value", param: field)
            }
            return id
        }
        return nil
    }
}
