import Common

/// A complete Gemini `GenerateContentResponse` as an OpenAI `chat.completion`.
///
/// Each candidate is a choice: its text parts (not thoughts) joined as `content` (null when it
/// has none), its function calls as `tool_calls` with ids from `GeminiToolCallID`. A prompt
/// Gemini blocked (`promptFeedback.blockReason`, no candidates) is answered like a filtered
/// completion: one choice, no content, `finish_reason: content_filter`, with the prompt's usage;
/// it is an answer about the content, not a malformed request, and a stream can only say it so.
struct GeminiResponseTranslator {
    let context: TranslationContext

    func translate(_ body: [UInt8]) throws(GatewayError) -> TranslatedResponse {
        let response = try Self.parseResponse(body)
        let model = GeminiCandidate.model(response["modelVersion"], fallback: context.model)
        var choices: [(index: Int, choice: JSONValue)] = []
        if GeminiCandidate.isBlockedPrompt(response) {
            choices.append((0, Self.choice(index: 0, content: nil, toolCalls: [], finishReason: "content_filter")))
        } else {
            guard case .array(let candidates) = response["candidates"], !candidates.isEmpty else {
                throw GeminiErrorTranslator.malformed("Gemini's answer has no candidates.")
            }
            for (position, candidate) in candidates.enumerated() {
                guard case .object(let object) = candidate else {
                    throw GeminiErrorTranslator.malformed("Gemini's answer has a candidate that is not an object.")
                }
                let index = object["index"]?.intValue.flatMap { (0...127).contains($0) ? $0 : nil } ?? position
                choices.append((index, choice(object, index: index)))
            }
            choices.sort { $0.index < $1.index }
        }
        let usage = GeminiCandidate.usage(response["usageMetadata"])
        let completion: JSONValue = [
            "id": .string(GeminiCandidate.completionID(responseID: response["responseId"]?.stringValue, requestID: context.requestID)),
            "object": "chat.completion",
            "created": .int(context.created),
            "model": .string(model),
            "choices": .array(choices.map(\.choice)),
            "usage": usage.json,
        ]
        return TranslatedResponse(body: completion, usage: usage, model: model)
    }

    /// The body as a response object; a 2xx carrying a `google.rpc.Status` is that error.
    static func parseResponse(_ body: [UInt8]) throws(GatewayError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw GeminiErrorTranslator.malformed("Gemini's answer is not valid JSON (\(error.description)).")
        }
        // The SDK unwraps a one-element list, which is how the non-SSE endpoints frame answers.
        var unwrapped = value
        if case .array(let list) = value, list.count == 1 { unwrapped = list[0] }
        guard case .object(let response) = unwrapped else {
            throw GeminiErrorTranslator.malformed("Gemini's answer is \(value.typeDescription), not an object.")
        }
        if case .object(let error) = response["error"] {
            throw GeminiErrorTranslator.translate(status: error["code"]?.intValue ?? 0, error: error)
        }
        return response
    }

    private func choice(_ candidate: JSONObject, index: Int) -> JSONValue {
        var nextCall = 0
        let parts = candidate["content"]?["parts"]?.arrayValue ?? []
        let pieces = GeminiCandidate.pieces(of: parts, candidate: index, nextCall: &nextCall, requestID: context.requestID)
        var text: String?
        var toolCalls: [GeminiCandidate.ToolCall] = []
        for piece in pieces {
            switch piece {
            case .text(let fragment): text = (text ?? "") + fragment
            case .toolCall(let call): toolCalls.append(call)
            }
        }
        let reason = candidate["finishReason"]?.stringValue ?? "STOP"
        let finish = GeminiCandidate.finishReason(reason, sawToolCall: !toolCalls.isEmpty)
        return Self.choice(index: index, content: text, toolCalls: toolCalls, finishReason: finish)
    }

    private static func choice(index: Int, content: String?, toolCalls: [GeminiCandidate.ToolCall], finishReason: String)
        -> JSONValue
    {
        var message = JSONObject([
            (key: "role", value: "assistant"),
            (key: "content", value: content.map(JSONValue.string) ?? .null),
        ])
        if !toolCalls.isEmpty {
            message["tool_calls"] = .array(
                toolCalls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                    ]
                })
        }
        message["refusal"] = .null
        return [
            "index": .int(index),
            "message": .object(message),
            "logprobs": nil,
            "finish_reason": .string(finishReason),
        ]
    }
}
