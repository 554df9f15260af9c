import Common

/// Gemini's `streamGenerateContent?alt=sse` body as OpenAI chunks.
///
/// Every `data:` event is a whole `GenerateContentResponse` holding only the new parts. Each
/// becomes chunks as it arrives: a candidate's first chunk carries `role: assistant`; text is
/// `content`; a function call (Gemini sends it whole) is a chunk with its id and name and empty
/// arguments, then one with the arguments; a `finishReason` is a chunk with the finish reason
/// (content a candidate sends after its finish reason is still passed on). Gemini has no end
/// marker: the stream is complete when the body ends after every candidate seen has finished
/// (or after a blocked-prompt answer). Then come the usage chunk (if the client asked), the usage
/// for pricing, and `.done`. A body that ends sooner is truncated: `.error`, never `.done`. An
/// `error` event, or one that is not JSON, ends the stream with `.error`; nothing follows it.
struct GeminiStreamTranslator: StreamTranslator {
    let context: TranslationContext
    private var decoder = SSEDecoder()
    private var ended = false
    private var completionID: String?
    private var model: String?
    private var usage: Usage?
    private var candidates: [Int: CandidateState] = [:]
    /// Candidate indexes in the order they first appeared.
    private var order: [Int] = []

    private struct CandidateState {
        var started = false
        var finished = false
        var sawToolCall = false
        var nextCall = 0
    }

    init(context: TranslationContext) { self.context = context }

    mutating func consume(_ bytes: [UInt8]) -> [StreamOutput] {
        guard !ended else { return [] }
        var outputs: [StreamOutput] = []
        for event in decoder.consume(bytes) {
            translate(event, into: &outputs)
            if ended { return outputs }
        }
        if decoder.isOverflowed { fail(GeminiErrorTranslator.malformed("Gemini sent a stream event larger than the gateway accepts."), into: &outputs) }
        return outputs
    }

    mutating func finish() -> [StreamOutput] {
        guard !ended else { return [] }
        var outputs: [StreamOutput] = []
        if let last = decoder.finish() {
            // An event without its blank line: the body was cut; if its JSON is cut too, that is
            // a truncation, not a malformed event.
            translate(last, into: &outputs, cutShort: true)
            if ended { return outputs }
        }
        ended = true
        let complete = !order.isEmpty && order.allSatisfy { candidates[$0]?.finished == true }
        guard complete else {
            if let usage { outputs.append(.usage(usage)) }
            outputs.append(.error(GeminiErrorTranslator.truncated))
            return outputs
        }
        let usage = self.usage ?? Usage()
        if context.includeUsage {
            var chunk = header()
            chunk["choices"] = []
            chunk["usage"] = usage.json
            outputs.append(.chunk(.object(chunk)))
        }
        outputs.append(.usage(usage))
        outputs.append(.done)
        return outputs
    }

    private mutating func fail(_ error: GatewayError, into outputs: inout [StreamOutput]) {
        if let usage { outputs.append(.usage(usage)) }
        outputs.append(.error(error))
        ended = true
    }

    private mutating func translate(_ event: SSEEvent, into outputs: inout [StreamOutput], cutShort: Bool = false) {
        let data = event.bytes
        guard data.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch {
            if cutShort { return fail(GeminiErrorTranslator.truncated, into: &outputs) }
            fail(GeminiErrorTranslator.malformed("Gemini sent a stream event that is not valid JSON (\(error.description))."), into: &outputs)
            return
        }
        var unwrapped = value
        if case .array(let list) = value, list.count == 1 { unwrapped = list[0] }
        guard case .object(let response) = unwrapped else {
            fail(GeminiErrorTranslator.malformed("Gemini sent a stream event that is \(value.typeDescription), not an object."), into: &outputs)
            return
        }
        if case .object(let error) = response["error"] {
            fail(GeminiErrorTranslator.translate(status: 0, error: error), into: &outputs)
            return
        }
        if completionID == nil {
            completionID = GeminiCandidate.completionID(responseID: response["responseId"]?.stringValue, requestID: context.requestID)
        }
        if model == nil, let version = response["modelVersion"]?.stringValue, !version.isEmpty { model = version }
        if let metadata = response["usageMetadata"], case .object = metadata { usage = GeminiCandidate.usage(metadata) }

        if GeminiCandidate.isBlockedPrompt(response) {
            finishCandidate(0, reason: "content_filter", into: &outputs)
            return
        }
        for (position, candidate) in (response["candidates"]?.arrayValue ?? []).enumerated() {
            guard case .object(let object) = candidate else { continue }
            let index = object["index"]?.intValue.flatMap { (0...127).contains($0) ? $0 : nil } ?? position
            translate(object, index: index, into: &outputs)
        }
    }

    private mutating func translate(_ candidate: JSONObject, index: Int, into outputs: inout [StreamOutput]) {
        var state = candidates[index] ?? CandidateState()
        if candidates[index] == nil { order.append(index) }
        let parts = candidate["content"]?["parts"]?.arrayValue ?? []
        let pieces = GeminiCandidate.pieces(of: parts, candidate: index, nextCall: &state.nextCall, requestID: context.requestID)

        var deltas: [JSONObject] = []
        var pendingText = ""
        for piece in pieces {
            switch piece {
            case .text(let text):
                pendingText += text
            case .toolCall(let call):
                if !pendingText.isEmpty {
                    deltas.append(JSONObject([(key: "content", value: .string(pendingText))]))
                    pendingText = ""
                }
                let callIndex = JSONValue.int(call.index)
                deltas.append(JSONObject([(key: "tool_calls", value: [[
                    "index": callIndex, "id": .string(call.id), "type": "function",
                    "function": ["name": .string(call.name), "arguments": ""],
                ]])]))
                deltas.append(JSONObject([(key: "tool_calls", value: [[
                    "index": callIndex, "function": ["arguments": .string(call.arguments)],
                ]])]))
                state.sawToolCall = true
            }
        }
        if !pendingText.isEmpty { deltas.append(JSONObject([(key: "content", value: .string(pendingText))])) }
        if !state.started && deltas.isEmpty {
            deltas.append(JSONObject([(key: "content", value: "")]))
        }
        for var delta in deltas {
            if !state.started {
                delta = JSONObject([(key: "role", value: "assistant")] + delta.fields)
                state.started = true
            }
            outputs.append(.chunk(chunk(index: index, delta: delta, finishReason: nil)))
        }
        candidates[index] = state
        if let reason = candidate["finishReason"]?.stringValue, !reason.isEmpty {
            finishCandidate(index, reason: GeminiCandidate.finishReason(reason, sawToolCall: state.sawToolCall), into: &outputs)
        }
    }

    private mutating func finishCandidate(_ index: Int, reason: String, into outputs: inout [StreamOutput]) {
        var state = candidates[index] ?? CandidateState()
        if candidates[index] == nil { order.append(index) }
        guard !state.finished else { return }
        if !state.started {
            outputs.append(.chunk(chunk(index: index, delta: JSONObject([(key: "role", value: "assistant"), (key: "content", value: "")]), finishReason: nil)))
            state.started = true
        }
        outputs.append(.chunk(chunk(index: index, delta: JSONObject(), finishReason: reason)))
        state.finished = true
        candidates[index] = state
    }

    private func header() -> JSONObject {
        JSONObject([
            (key: "id", value: .string(completionID ?? "chatcmpl-" + context.requestID)),
            (key: "object", value: "chat.completion.chunk"),
            (key: "created", value: .int(context.created)),
            (key: "model", value: .string(model ?? context.model)),
        ])
    }

    private func chunk(index: Int, delta: JSONObject, finishReason: String?) -> JSONValue {
        var chunk = header()
        chunk["choices"] = [[
            "index": .int(index), "delta": .object(delta), "logprobs": nil,
            "finish_reason": finishReason.map(JSONValue.string) ?? .null,
        ]]
        if context.includeUsage { chunk["usage"] = .null }
        return .object(chunk)
    }
}
