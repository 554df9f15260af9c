import Common

/// Anthropic's named SSE events as OpenAI chunks, each event translated as soon as it is whole.
///
/// - `message_start` → the first chunk, `delta: {"role": "assistant", "content": ""}`.
/// - `content_block_start` of a `tool_use` → the call's first fragment (index, id, type, name,
///   empty arguments); OpenAI's `index` counts tool calls, not Anthropic's content blocks.
/// - `text_delta` → `delta.content`; `input_json_delta` → an arguments fragment (empty ones are
///   skipped), or `delta.content` for the gateway's `response_format` tool.
/// - `message_delta` → its stop reason and (cumulative) usage are recorded.
/// - `message_stop` → the chunk with `finish_reason`, the usage chunk (`choices: []`) when the
///   client asked, `.usage` always, and `.done` at once (as the OpenAI translator does on
///   `[DONE]`), so the client's `[DONE]` does not wait for the upstream to close.
/// - `error` → `.usage` (what was counted so far) and `.error`, and nothing after.
/// - `ping`, thinking and signature deltas, and events or blocks of unknown types are ignored.
///
/// A stream that ends before `message_stop`, an event that is not JSON, or an event larger than
/// the SSE decoder allows ends in `.error`: a cut answer is never reported as complete.
struct AnthropicStreamTranslator: StreamTranslator {
    private enum Block {
        case text
        /// A client tool call: its OpenAI index, and the input of `content_block_start` in case
        /// no `input_json_delta` follows (then it is sent whole when the block stops).
        case tool(index: Int, startInput: JSONValue?, streamed: Bool)
        case jsonAnswer(startInput: JSONValue?, streamed: Bool)
        case ignored
    }

    private static let handledEvents: Set<String> = [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
        "message_stop", "error",
    ]

    /// How often (in bytes of the whole stream) the decoder is asked whether an event overflowed.
    static let overflowCheckInterval = 64 * 1024

    private let context: TranslationContext
    private var decoder = SSEDecoder()
    private var offset = 0
    /// Set once `.done` or `.error` has been produced: nothing follows either.
    private var isFinished = false
    private var started = false
    private var id: String
    private var model: String
    private var tokens = AnthropicTokenCounts()
    private var stopReason: String?
    private var blocks: [Int: Block] = [:]
    private var toolCalls = 0

    init(context: TranslationContext) {
        self.context = context
        id = AnthropicResponseTranslator.completionID(nil, context: context)
        model = context.model
    }

    mutating func consume(_ bytes: [UInt8]) -> [StreamOutput] {
        var out: [StreamOutput] = []
        var start = 0
        while !isFinished && start < bytes.count {
            // The decoder's overflow flag is read only at fixed offsets of the whole stream, so
            // the outputs do not depend on where the caller's pieces happen to end.
            let end = min(bytes.count, start + Self.overflowCheckInterval - offset % Self.overflowCheckInterval)
            for event in decoder.consume(bytes[start..<end]) where !isFinished {
                handle(event, into: &out)
            }
            offset += end - start
            start = end
            if offset % Self.overflowCheckInterval == 0 { failIfOverflowed(into: &out) }
        }
        return out
    }

    mutating func finish() -> [StreamOutput] {
        var out: [StreamOutput] = []
        failIfOverflowed(into: &out)
        if !isFinished, let last = decoder.finish() { handle(last, into: &out) }
        if !isFinished { fail(AnthropicErrorTranslator.truncatedStream, into: &out) }
        isFinished = true
        return out
    }

    private mutating func failIfOverflowed(into out: inout [StreamOutput]) {
        guard !isFinished && decoder.isOverflowed else { return }
        fail(AnthropicErrorTranslator.invalidResponse("a stream event exceeded \(SSEDecoder.maxEventBytes) bytes"), into: &out)
    }

    // MARK: - Events

    private mutating func handle(_ event: SSEEvent, into out: inout [StreamOutput]) {
        if let name = event.event, !Self.handledEvents.contains(name) { return }  // ping, and newer events
        if event.event == nil && event.bytes.isEmpty { return }
        guard let value = try? JSONParser.parse(event.bytes), case .object(let data) = value else {
            fail(AnthropicErrorTranslator.invalidResponse("a stream event is not a JSON object"), into: &out)
            return
        }
        switch event.event ?? data["type"]?.stringValue {
        case "message_start": messageStart(data, into: &out)
        case "content_block_start": blockStart(data, into: &out)
        case "content_block_delta": blockDelta(data, into: &out)
        case "content_block_stop": blockStop(data, into: &out)
        case "message_delta": messageDelta(data, into: &out)
        case "message_stop": messageStop(into: &out)
        case "error":
            fail(AnthropicErrorTranslator.translate(event: data), into: &out)
        default: return  // an unnamed ping, or an event type added after this was written
        }
    }

    private mutating func messageStart(_ data: JSONObject, into out: inout [StreamOutput]) {
        guard !started else { return }
        let message = data["message"]
        if let messageID = message?["id"]?.stringValue, !messageID.isEmpty {
            id = AnthropicResponseTranslator.completionID(messageID, context: context)
        }
        if let name = message?["model"]?.stringValue, !name.isEmpty { model = name }
        tokens.update(with: message?["usage"])
        start(into: &out)
    }

    /// The role chunk, once, before anything else (also when an upstream skips `message_start`).
    private mutating func start(into out: inout [StreamOutput]) {
        guard !started else { return }
        started = true
        out.append(chunk(["role": "assistant", "content": ""]))
    }

    private mutating func blockStart(_ data: JSONObject, into out: inout [StreamOutput]) {
        start(into: &out)
        guard let index = data["index"]?.intValue, let block = data["content_block"] else { return }
        switch block["type"]?.stringValue {
        case "text":
            blocks[index] = .text
            if let text = block["text"]?.stringValue, !text.isEmpty { out.append(chunk(["content": .string(text)])) }
        case "tool_use":
            let input = block["input"].flatMap { $0.objectValue?.isEmpty == false ? $0 : nil }
            let name = block["name"]?.stringValue ?? ""
            if name == AnthropicToolTranslator.jsonToolName {
                blocks[index] = .jsonAnswer(startInput: input, streamed: false)
                return
            }
            let call = toolCalls
            toolCalls += 1
            blocks[index] = .tool(index: call, startInput: input, streamed: false)
            let fragment: JSONValue = [
                "index": .int(call), "id": .string(block["id"]?.stringValue ?? ""), "type": "function",
                "function": ["name": .string(name), "arguments": ""],
            ]
            out.append(chunk(["tool_calls": [fragment]]))
        default:
            blocks[index] = .ignored  // thinking, redacted_thinking, server tools and newer kinds
        }
    }

    private mutating func blockDelta(_ data: JSONObject, into out: inout [StreamOutput]) {
        start(into: &out)
        guard let index = data["index"]?.intValue, let delta = data["delta"] else { return }
        switch (delta["type"]?.stringValue, blocks[index]) {
        case ("text_delta", .text?), ("text_delta", nil):
            if let text = delta["text"]?.stringValue, !text.isEmpty { out.append(chunk(["content": .string(text)])) }
        case ("input_json_delta", .tool(let call, let input, _)?):
            blocks[index] = .tool(index: call, startInput: input, streamed: true)
            if let fragment = delta["partial_json"]?.stringValue, !fragment.isEmpty {
                out.append(argumentsChunk(call, fragment))
            }
        case ("input_json_delta", .jsonAnswer(let input, _)?):
            blocks[index] = .jsonAnswer(startInput: input, streamed: true)
            if let fragment = delta["partial_json"]?.stringValue, !fragment.isEmpty {
                out.append(chunk(["content": .string(fragment)]))
            }
        default:
            return  // thinking_delta, signature_delta, citations_delta, and deltas of ignored blocks
        }
    }

    /// Sends a tool input that arrived whole in `content_block_start` and was never streamed.
    private mutating func blockStop(_ data: JSONObject, into out: inout [StreamOutput]) {
        guard let index = data["index"]?.intValue else { return }
        switch blocks[index] {
        case .tool(let call, let input?, false)?: out.append(argumentsChunk(call, input.jsonText))
        case .jsonAnswer(let input?, false)?: out.append(chunk(["content": .string(input.jsonText)]))
        default: break
        }
        blocks[index] = .ignored
    }

    /// Only recorded: the finish chunk waits for `message_stop`, so a stream cut between the two
    /// never shows the client a finish_reason before its error.
    private mutating func messageDelta(_ data: JSONObject, into out: inout [StreamOutput]) {
        start(into: &out)
        tokens.update(with: data["usage"])
        if let reason = data["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
    }

    private mutating func messageStop(into out: inout [StreamOutput]) {
        start(into: &out)
        let reason = AnthropicResponseTranslator.finishReason(stopReason, hasToolCalls: toolCalls > 0)
        out.append(chunk([:], finishReason: .string(reason)))
        let usage = tokens.usage
        if context.includeUsage {
            out.append(.chunk(.object(JSONObject([
                ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(context.created)),
                ("model", .string(model)), ("choices", []), ("usage", usage.json),
            ]))))
        }
        out.append(.usage(usage))
        out.append(.done)
        isFinished = true
    }

    private mutating func fail(_ error: GatewayError, into out: inout [StreamOutput]) {
        if started { out.append(.usage(tokens.usage)) }
        out.append(.error(error))
        isFinished = true
    }

    // MARK: - Chunks

    private func argumentsChunk(_ call: Int, _ fragment: String) -> StreamOutput {
        chunk(["tool_calls": [["index": .int(call), "function": ["arguments": .string(fragment)]]]])
    }

    private func chunk(_ delta: JSONValue, finishReason: JSONValue = .null) -> StreamOutput {
        var fields: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(context.created)),
            ("model", .string(model)),
            ("choices", [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finishReason]]),
        ]
        // OpenAI sends `usage: null` on every chunk but the last when the client asked for usage.
        if context.includeUsage { fields.append(("usage", .null)) }
        return .chunk(.object(JSONObject(fields)))
    }
}
