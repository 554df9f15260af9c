import Common

/// OpenAI `messages` as Gemini's `systemInstruction` and `contents`.
///
/// - `system` and `developer` messages, wherever they stand, become `systemInstruction` parts in
///   order (Gemini has no mid-conversation system turn).
/// - `user` becomes role `user`, `assistant` role `model`; `tool` (and the deprecated
///   `function`) results become `functionResponse` parts in a `user` content, as Gemini's SDK
///   sends them. Consecutive contents of one role are merged, so all results answering one
///   model turn travel together, in the client's order.
/// - A tool result names its call only by `tool_call_id`; Gemini needs the function's name, so
///   it is looked up among the earlier assistant `tool_calls`. The id also carries what Gemini
///   gave with the call (its own id, the thought signature; see `GeminiToolCallID`).
/// - Dropped, as Gemini has no equivalent: `name` on messages, `image_url.detail`, empty text.
struct GeminiMessageTranslator {
    let messages: [JSONObject]
    /// Gemini 3 refuses function calls in history without a thought signature (a conversation
    /// begun on another provider has none): such calls get Google's documented placeholder.
    let requiresThoughtSignatures: Bool

    static let placeholderSignature = "skip_thought_signature_validator"

    struct Output {
        var systemParts: [JSONValue]
        var contents: [JSONValue]
    }

    private struct Call {
        var name: String
        var geminiID: String?
    }

    func translate() throws(GatewayError) -> Output {
        var systemParts: [JSONValue] = []
        var contents: [(role: String, parts: [JSONValue])] = []
        var calls: [String: Call] = [:]

        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append((role, parts))
            }
        }

        for (index, message) in messages.enumerated() {
            let path = "messages[\(index)]"
            let content = message["content"]
            switch message["role"]?.stringValue ?? "" {
            case "system", "developer":
                for text in try Self.texts(content, path: path, allowsRefusal: false) where !text.isEmpty {
                    systemParts.append(["text": .string(text)])
                }
            case "user":
                append("user", try Self.userParts(content, path: path))
            case "assistant":
                var parts = try Self.texts(content, path: path, allowsRefusal: true).filter { !$0.isEmpty }
                    .map { JSONValue(dictionaryLiteral: ("text", .string($0))) }
                if parts.isEmpty, let refusal = message["refusal"]?.stringValue, !refusal.isEmpty {
                    parts.append(["text": .string(refusal)])
                }
                parts += try functionCalls(message["tool_calls"], path: path, calls: &calls)
                append("model", parts)
            case "tool":
                let id = message["tool_call_id"]?.stringValue ?? ""
                guard let call = calls[id] else {
                    throw .invalidRequest(
                        "'\(path).tool_call_id' ('\(id.prefix(80))') does not match a tool call of an earlier assistant message; Gemini needs the function's name for every tool result.",
                        code: "invalid_value", param: "\(path).tool_call_id")
                }
                let text = try Self.texts(content, path: path, allowsRefusal: false).joined()
                append("user", [Self.functionResponse(name: call.name, id: call.geminiID, text: text)])
            case "function":
                guard let name = message["name"]?.stringValue, !name.isEmpty else {
                    throw ChatRequest.missing("\(path).name")
                }
                let text = try Self.texts(content, path: path, allowsRefusal: false).joined()
                append("user", [Self.functionResponse(name: name, id: nil, text: text)])
            default:
                throw .invalidRequest("'\(path).role' is not a role Gemini can take.", code: "invalid_value", param: "\(path).role")
            }
        }
        guard !contents.isEmpty else {
            throw .invalidRequest(
                "Gemini needs at least one user or assistant message with content; 'messages' has none.",
                code: "invalid_value", param: "messages")
        }
        return Output(
            systemParts: systemParts,
            contents: contents.map { .object(JSONObject([(key: "role", value: .string($0.role)), (key: "parts", value: .array($0.parts))])) })
    }

    /// An assistant's `tool_calls` as `functionCall` parts; remembers each call for the results.
    private func functionCalls(_ value: JSONValue?, path: String, calls: inout [String: Call]) throws(GatewayError)
        -> [JSONValue]
    {
        guard let value, !value.isNull else { return [] }
        guard case .array(let list) = value else { throw ChatRequest.wrongType("\(path).tool_calls", "an array", value) }
        var parts: [JSONValue] = []
        var hasSignature = false
        for (index, element) in list.enumerated() {
            let callPath = "\(path).tool_calls[\(index)]"
            guard case .object(let call) = element else { throw ChatRequest.wrongType(callPath, "an object", element) }
            if let type = call["type"]?.stringValue, type != "function" {
                throw .invalidRequest(
                    "'\(callPath).type' is '\(type.prefix(40))'; Gemini takes only function tool calls.",
                    code: "unsupported_value", param: "\(callPath).type")
            }
            guard let function = call["function"]?.objectValue, let name = function["name"]?.stringValue, !name.isEmpty
            else { throw ChatRequest.missing("\(callPath).function.name") }
            let arguments = try Self.arguments(function["arguments"], path: "\(callPath).function.arguments")
            let id = call["id"]?.stringValue ?? ""
            let carried = GeminiToolCallID.parse(id)
            var functionCall = JSONObject()
            if let geminiID = carried.geminiID { functionCall["id"] = .string(geminiID) }
            functionCall["name"] = .string(name)
            functionCall["args"] = .object(arguments)
            var part = JSONObject([(key: "functionCall", value: .object(functionCall))])
            if let signature = carried.signature {
                part["thoughtSignature"] = .string(signature)
                hasSignature = true
            }
            parts.append(.object(part))
            if !id.isEmpty { calls[id] = Call(name: name, geminiID: carried.geminiID) }
        }
        // Gemini signs only the first call of a step (parallel calls share it).
        if requiresThoughtSignatures, !hasSignature, case .object(var first) = parts.first {
            first["thoughtSignature"] = .string(Self.placeholderSignature)
            parts[0] = .object(first)
        }
        return parts
    }

    /// `function.arguments` (a JSON text) as the object Gemini's `args` must be.
    private static func arguments(_ value: JSONValue?, path: String) throws(GatewayError) -> JSONObject {
        guard let value, !value.isNull else { return JSONObject() }
        guard case .string(let text) = value else { throw ChatRequest.wrongType(path, "a string of JSON", value) }
        if text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return JSONObject() }
        guard let parsed = try? JSONParser.parse(Array(text.utf8)), case .object(let object) = parsed else {
            throw .invalidRequest(
                "'\(path)' must be a JSON object in a string; Gemini takes function arguments only as an object.",
                code: "invalid_value", param: path)
        }
        return object
    }

    /// A tool's answer as a `functionResponse`. Gemini's `response` must be an object: a JSON
    /// object answer is passed as it is, anything else goes under `output`, Google's convention.
    private static func functionResponse(name: String, id: String?, text: String) -> JSONValue {
        var response: JSONValue = ["output": .string(text)]
        let start = text.utf8.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if start == UInt8(ascii: "{"), let parsed = try? JSONParser.parse(Array(text.utf8)), case .object = parsed
        {
            response = parsed
        }
        var body = JSONObject()
        if let id { body["id"] = .string(id) }
        body["name"] = .string(name)
        body["response"] = response
        return ["functionResponse": .object(body)]
    }

    /// The texts of a message whose content may only be text (`refusal` parts too for assistants).
    private static func texts(_ content: JSONValue?, path: String, allowsRefusal: Bool) throws(GatewayError) -> [String] {
        switch content {
        case .none, .some(.null): return []
        case .some(.string(let text)): return [text]
        case .some(.array(let parts)):
            var texts: [String] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).content[\(index)]"
                let type = part["type"]?.stringValue
                if type == "text", let text = part["text"]?.stringValue {
                    texts.append(text)
                } else if allowsRefusal, type == "refusal", let text = part["refusal"]?.stringValue {
                    texts.append(text)
                } else {
                    throw .invalidRequest(
                        "'\(partPath)' must be a text part here (got type '\((type ?? "none").prefix(40))').",
                        code: "invalid_value", param: partPath)
                }
            }
            return texts
        case .some(let other): throw ChatRequest.wrongType("\(path).content", "a string or an array of content parts", other)
        }
    }

    /// A user message's content: text, images, audio and files.
    private static func userParts(_ content: JSONValue?, path: String) throws(GatewayError) -> [JSONValue] {
        switch content {
        case .none, .some(.null): return []
        case .some(.string(let text)): return text.isEmpty ? [] : [["text": .string(text)]]
        case .some(.array(let parts)):
            var out: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                if let converted = try GeminiMediaPart.convert(part, path: "\(path).content[\(index)]") { out.append(converted) }
            }
            return out
        case .some(let other): throw ChatRequest.wrongType("\(path).content", "a string or an array of content parts", other)
        }
    }
}
