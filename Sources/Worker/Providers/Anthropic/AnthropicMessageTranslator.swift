import Common

/// OpenAI's `messages` as Anthropic's top-level `system` and its list of alternating turns.
///
/// - `system` and `developer` messages become text blocks of the top-level `system`, in order,
///   wherever they stood (Anthropic has no such role inside `messages`).
/// - `tool` messages become `tool_result` blocks in a user turn; consecutive turns of one role are
///   merged (the API would merge them too, but a merged user turn must start with its
///   `tool_result` blocks, so the gateway does it and orders them first).
/// - Empty text is dropped (Anthropic refuses empty text blocks); a turn left empty disappears.
/// - A conversation that does not open with a user turn (it opens with the assistant, or holds
///   only system text) gets a one-character user turn "." first: Anthropic requires one.
/// - A final assistant turn is a prefill: Claude continues it. Its trailing whitespace is trimmed,
///   because Anthropic refuses a final assistant turn that ends in whitespace.
struct AnthropicMessageTranslator {
    struct Conversation {
        var system: [JSONValue] = []
        var messages: [JSONValue] = []
    }

    private struct Turn {
        var role: String
        var blocks: [JSONValue]
    }

    static func translate(_ messages: [JSONObject]) throws(GatewayError) -> Conversation {
        var system: [JSONValue] = []
        var turns: [Turn] = []
        turns.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            let path = "messages[\(index)]"
            let role = message["role"]?.stringValue ?? ""
            switch role {
            case "system", "developer":
                system.append(contentsOf: try textBlocks(message["content"], path: path, role: role))
            case "user":
                append(try userBlocks(message["content"], path: path), as: "user", to: &turns)
            case "assistant":
                append(try assistantBlocks(message, path: path), as: "assistant", to: &turns)
            case "tool":
                append([try toolResult(message, path: path)], as: "user", to: &turns)
            default:
                throw .invalidRequest(
                    "'\(path).role' \"\(role.prefix(40))\" is not supported for Anthropic models; send the deprecated function messages as 'tool' messages with a 'tool_call_id'.",
                    code: "unsupported_value", param: "\(path).role")
            }
        }
        if turns.first?.role != "user" {
            turns.insert(Turn(role: "user", blocks: [text(".")]), at: 0)
        }
        if turns.last?.role == "assistant" {
            trimPrefill(&turns[turns.count - 1])
            if turns[turns.count - 1].blocks.isEmpty { turns.removeLast() }
        }
        var conversation = Conversation(system: system)
        conversation.messages.reserveCapacity(turns.count)
        for var turn in turns {
            if turn.role == "user" { putToolResultsFirst(&turn.blocks) }
            conversation.messages.append(["role": .string(turn.role), "content": .array(turn.blocks)])
        }
        return conversation
    }

    private static func append(_ blocks: [JSONValue], as role: String, to turns: inout [Turn]) {
        guard !blocks.isEmpty else { return }
        if turns.last?.role == role {
            turns[turns.count - 1].blocks.append(contentsOf: blocks)
        } else {
            turns.append(Turn(role: role, blocks: blocks))
        }
    }

    private static func putToolResultsFirst(_ blocks: inout [JSONValue]) {
        guard blocks.contains(where: { $0["type"]?.stringValue != "tool_result" }),
            blocks.contains(where: { $0["type"]?.stringValue == "tool_result" })
        else { return }
        let results = blocks.filter { $0["type"]?.stringValue == "tool_result" }
        let others = blocks.filter { $0["type"]?.stringValue != "tool_result" }
        blocks = results + others
    }

    private static func trimPrefill(_ turn: inout Turn) {
        while let last = turn.blocks.last, case .object(var block) = last, block["type"]?.stringValue == "text",
            let text = block["text"]?.stringValue
        {
            var trimmed = Substring(text)
            while let character = trimmed.last, character.isWhitespace { trimmed.removeLast() }
            if trimmed.isEmpty {
                turn.blocks.removeLast()
                continue
            }
            block["text"] = .string(String(trimmed))
            turn.blocks[turn.blocks.count - 1] = .object(block)
            return
        }
    }

    // MARK: - Content of each role

    /// System, developer and tool content: a string or text parts only.
    private static func textBlocks(_ content: JSONValue?, path: String, role: String) throws(GatewayError) -> [JSONValue] {
        switch content {
        case .string(let string): return string.isEmpty ? [] : [text(string)]
        case .array(let parts):
            var blocks: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).content[\(index)]"
                guard case .object(let object) = part, object["type"]?.stringValue == "text" else {
                    throw .invalidRequest(
                        "'\(partPath)' must be a text part: \(role) messages carry only text.",
                        code: "invalid_value", param: partPath)
                }
                if let block = try textBlock(object, path: partPath) { blocks.append(block) }
            }
            return blocks
        default: return []
        }
    }

    private static func userBlocks(_ content: JSONValue?, path: String) throws(GatewayError) -> [JSONValue] {
        guard case .array(let parts) = content else { return try textBlocks(content, path: path, role: "user") }
        var blocks: [JSONValue] = []
        blocks.reserveCapacity(parts.count)
        for (index, part) in parts.enumerated() {
            let partPath = "\(path).content[\(index)]"
            guard case .object(let object) = part, let type = object["type"]?.stringValue else {
                throw ChatRequest.wrongType(partPath, "a content part object with a string 'type'", part)
            }
            switch type {
            case "text": if let block = try textBlock(object, path: partPath) { blocks.append(block) }
            case "image_url": blocks.append(try AnthropicMediaTranslator.image(object, path: partPath))
            case "file": blocks.append(try AnthropicMediaTranslator.document(object, path: partPath))
            case "input_audio":
                throw .invalidRequest(
                    "'\(partPath)': Anthropic models do not accept audio input.", code: "unsupported_value",
                    param: "\(partPath).type")
            default:
                throw .invalidRequest(
                    "'\(partPath).type' \"\(type.prefix(40))\" is not supported; use text, image_url or file.",
                    code: "unsupported_value", param: "\(partPath).type")
            }
        }
        return blocks
    }

    private static func assistantBlocks(_ message: JSONObject, path: String) throws(GatewayError) -> [JSONValue] {
        if let call = message["function_call"], !call.isNull {
            throw .invalidRequest(
                "'\(path).function_call' is deprecated and not supported for Anthropic models; use 'tool_calls'.",
                code: "unsupported_parameter", param: "\(path).function_call")
        }
        var blocks: [JSONValue] = []
        switch message["content"] {
        case .string(let string): if !string.isEmpty { blocks.append(text(string)) }
        case .array(let parts):
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).content[\(index)]"
                switch part["type"]?.stringValue {
                case "text": if let object = part.objectValue, let block = try textBlock(object, path: partPath) { blocks.append(block) }
                case "refusal":
                    guard let refusal = part["refusal"]?.stringValue else { throw ChatRequest.missing("\(partPath).refusal") }
                    if !refusal.isEmpty { blocks.append(text(refusal)) }
                default:
                    throw .invalidRequest(
                        "'\(partPath)' must be a text or refusal part in an assistant message.", code: "invalid_value",
                        param: partPath)
                }
            }
        default: break
        }
        if let refusal = message["refusal"]?.stringValue, !refusal.isEmpty { blocks.append(text(refusal)) }
        if let calls = message["tool_calls"], !calls.isNull {
            guard case .array(let list) = calls else { throw ChatRequest.wrongType("\(path).tool_calls", "an array", calls) }
            for (index, call) in list.enumerated() {
                blocks.append(try toolUse(call, path: "\(path).tool_calls[\(index)]"))
            }
        }
        return blocks
    }

    /// `{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}` as a
    /// `tool_use` block, whose `input` must be a JSON object: arguments that are not one (the
    /// model may have written broken JSON) are refused rather than guessed at.
    private static func toolUse(_ call: JSONValue, path: String) throws(GatewayError) -> JSONValue {
        guard case .object(let object) = call else { throw ChatRequest.wrongType(path, "an object", call) }
        if let type = object["type"]?.stringValue, type != "function" {
            throw .invalidRequest(
                "'\(path).type' \"\(type.prefix(40))\" is not supported for Anthropic models; only function tool calls are.",
                code: "unsupported_value", param: "\(path).type")
        }
        guard let id = object["id"]?.stringValue, !id.isEmpty else { throw ChatRequest.missing("\(path).id") }
        guard let name = object["function"]?["name"]?.stringValue, !name.isEmpty else {
            throw ChatRequest.missing("\(path).function.name")
        }
        let arguments = object["function"]?["arguments"]?.stringValue ?? ""
        var input: JSONValue = .object(JSONObject())
        if !arguments.allSatisfy(\.isWhitespace) {
            guard let parsed = try? JSONParser.parse(Array(arguments.utf8)), case .object = parsed else {
                throw .invalidRequest(
                    "'\(path).function.arguments' must be a JSON object in a string for Anthropic models.",
                    code: "invalid_value", param: "\(path).function.arguments")
            }
            input = parsed
        }
        return ["type": "tool_use", "id": .string(sanitizedID(id)), "name": .string(name), "input": input]
    }

    private static func toolResult(_ message: JSONObject, path: String) throws(GatewayError) -> JSONValue {
        let id = message["tool_call_id"]?.stringValue ?? ""
        guard !id.isEmpty else { throw ChatRequest.missing("\(path).tool_call_id") }
        var block = JSONObject([("type", "tool_result"), ("tool_use_id", .string(sanitizedID(id)))])
        switch message["content"] {
        case .string(let string): if !string.isEmpty { block["content"] = .string(string) }
        case .array:
            let blocks = try textBlocks(message["content"], path: path, role: "tool")
            if !blocks.isEmpty { block["content"] = .array(blocks) }
        default: break
        }
        return .object(block)
    }

    // MARK: - Blocks

    static func text(_ string: String) -> JSONValue { ["type": "text", "text": .string(string)] }

    /// A text part as a text block (nil when empty), keeping a client's `cache_control` hint.
    private static func textBlock(_ part: JSONObject, path: String) throws(GatewayError) -> JSONValue? {
        guard let value = part["text"] else { throw ChatRequest.missing("\(path).text") }
        guard case .string(let string) = value else { throw ChatRequest.wrongType("\(path).text", "a string", value) }
        guard !string.isEmpty else { return nil }
        var block = JSONObject([("type", "text"), ("text", .string(string))])
        if let cache = try AnthropicMediaTranslator.cacheControl(part, path: path) { block["cache_control"] = cache }
        return .object(block)
    }

    /// Anthropic accepts tool ids matching `^[a-zA-Z0-9_-]+$`; other providers' ids (and some
    /// clients' own) do not always, so every other character becomes "_", the same way for the
    /// `tool_use` and its `tool_result`.
    static func sanitizedID(_ id: String) -> String {
        func allowed(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
        if id.utf8.allSatisfy(allowed) { return id }
        var out = ""
        for scalar in id.unicodeScalars {
            out.unicodeScalars.append(scalar.isASCII && allowed(UInt8(scalar.value)) ? scalar : "_")
        }
        return out
    }
}
