import Common

/// A complete Anthropic `message` as an OpenAI `chat.completion`.
///
/// Text blocks are joined into `content` (null when there are none); `tool_use` blocks become
/// `tool_calls` with the input as a JSON string, except the gateway's `response_format` tool,
/// whose input becomes the content (see `AnthropicToolTranslator`); thinking, redacted thinking
/// and server-tool blocks are not content and are left out.
enum AnthropicResponseTranslator {
    static func translate(_ bytes: [UInt8], context: TranslationContext) throws(GatewayError) -> TranslatedResponse {
        guard let value = try? JSONParser.parse(bytes), case .object(let message) = value else {
            throw AnthropicErrorTranslator.invalidResponse("the response body is not a JSON object")
        }
        if message["type"]?.stringValue == "error" {
            throw AnthropicErrorTranslator.translate(event: message)
        }
        guard case .array(let content)? = message["content"] else {
            throw AnthropicErrorTranslator.invalidResponse("the response has no 'content' array")
        }
        var text = ""
        var hasText = false
        var toolCalls: [JSONValue] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text":
                text += block["text"]?.stringValue ?? ""
                hasText = true
            case "tool_use":
                guard let name = block["name"]?.stringValue, let id = block["id"]?.stringValue else {
                    throw AnthropicErrorTranslator.invalidResponse("a tool_use block has no 'id' or 'name'")
                }
                let arguments = (block["input"] ?? .object(JSONObject())).jsonText
                if name == AnthropicToolTranslator.jsonToolName {
                    text += arguments
                    hasText = true
                } else {
                    toolCalls.append(toolCall(id: id, name: name, arguments: arguments))
                }
            default:
                continue
            }
        }
        var tokens = AnthropicTokenCounts()
        tokens.update(with: message["usage"])
        let usage = tokens.usage
        let model = message["model"]?.stringValue ?? context.model
        var reply = JSONObject([("role", "assistant"), ("content", hasText ? .string(text) : .null)])
        if !toolCalls.isEmpty { reply["tool_calls"] = .array(toolCalls) }
        reply["refusal"] = .null
        let finishReason = finishReason(message["stop_reason"]?.stringValue, hasToolCalls: !toolCalls.isEmpty)
        let body = JSONObject([
            ("id", .string(completionID(message["id"]?.stringValue, context: context))),
            ("object", "chat.completion"),
            ("created", .int(context.created)),
            ("model", .string(model)),
            (
                "choices",
                [["index": 0, "message": .object(reply), "logprobs": .null, "finish_reason": .string(finishReason)]]
            ),
            ("usage", usage.json),
        ])
        return TranslatedResponse(body: .object(body), usage: usage, model: model)
    }

    static func toolCall(id: String, name: String, arguments: String) -> JSONValue {
        ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }

    /// `chatcmpl-` and Anthropic's message id (stable and traceable in Anthropic's console), or
    /// the gateway's request id when the message names none.
    static func completionID(_ messageID: String?, context: TranslationContext) -> String {
        if let messageID, !messageID.isEmpty { return "chatcmpl-" + messageID }
        return "chatcmpl-" + context.requestID
    }

    /// Anthropic's `stop_reason` as OpenAI's `finish_reason`. `pause_turn` (a long server-tool
    /// turn paused; the gateway sends no server tools) reads as `stop`: the answer so far is
    /// whole, and OpenAI has no "resume" reason. `tool_use` without a client tool call is the
    /// `response_format` tool: `stop`.
    static func finishReason(_ stopReason: String?, hasToolCalls: Bool) -> String {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": hasToolCalls ? "tool_calls" : "stop"
        case "refusal": "content_filter"
        default: "stop"  // end_turn, stop_sequence, pause_turn, and any newer reason
        }
    }
}

/// Anthropic's token counts, as reported in a message or accumulated over a stream, where
/// `message_delta` repeats them cumulatively.
struct AnthropicTokenCounts: Equatable, Sendable {
    var input = 0
    var cacheRead = 0
    var cacheCreation = 0
    var output = 0
    var thinking = 0

    /// Takes every count `usage` carries, keeping the others (a null or missing count is not 0).
    mutating func update(with usage: JSONValue?) {
        guard case .object(let object)? = usage else { return }
        Self.read(object["input_tokens"], into: &input)
        Self.read(object["cache_read_input_tokens"], into: &cacheRead)
        Self.read(object["cache_creation_input_tokens"], into: &cacheCreation)
        Self.read(object["output_tokens"], into: &output)
        Self.read(object["output_tokens_details"]?["thinking_tokens"], into: &thinking)
    }

    /// Counts are bounded, so a hostile upstream cannot overflow the sums below.
    private static func read(_ value: JSONValue?, into count: inout Int) {
        guard let tokens = value?.intValue else { return }
        count = max(0, min(tokens, 1 << 40))
    }

    /// OpenAI's view: prompt tokens count every input token, cached and cache-written included.
    var usage: Usage {
        Usage(
            promptTokens: input + cacheRead + cacheCreation, completionTokens: output, cachedTokens: cacheRead,
            cacheWriteTokens: cacheCreation, reasoningTokens: min(thinking, output))
    }
}
