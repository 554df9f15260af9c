import Common

/// `tools`, `tool_choice`, `parallel_tool_calls` and `response_format` as Anthropic's `tools` and
/// `tool_choice`.
///
/// Structured output is emulated with a forced tool, which every Claude model supports (the newer
/// `output_config.format` exists only on recent models): `response_format` `json_schema` becomes
/// a tool named `llm0_json_response` whose `input_schema` is the client's schema, `json_object`
/// the same tool with an open object schema. The tool is forced (`{"type": "tool"}`) unless the
/// client's own tools may be called, in which case the model must call one of them or the JSON
/// tool (`{"type": "any"}`). The response translators turn a call of that tool back into the
/// message's `content` (the input as JSON text) with finish_reason `stop`, never a tool call.
/// Under `tool_choice` `required` or a named function the model must call the client's tool
/// anyway, so the JSON tool is not offered.
enum AnthropicToolTranslator {
    /// The synthetic tool's name; reserved, so a client tool cannot be mistaken for it.
    static let jsonToolName = "llm0_json_response"

    struct Translation {
        var tools: [JSONValue] = []
        var toolChoice: JSONValue?
    }

    private enum Choice {
        case auto, none, required
        case function(String)
        case allowed(required: Bool, names: [String])
    }

    static func translate(_ body: JSONObject) throws(GatewayError) -> Translation {
        var tools = try functionTools(body["tools"])
        let names = tools.compactMap { $0["name"]?.stringValue }
        let choice = try toolChoice(body["tool_choice"], names: names)
        if case .allowed(_, let allowed)? = choice {
            tools = tools.filter { allowed.contains($0["name"]?.stringValue ?? "") }
        }
        let jsonTool = try responseFormatTool(body["response_format"])

        var translation = Translation()
        var anthropicChoice: JSONObject?
        switch choice {
        case .required?, .function?, .allowed(required: true, _)?:
            anthropicChoice = mapped(choice!)
        default:
            if let jsonTool {
                let clientToolsUsable = !tools.isEmpty && !isNone(choice)
                anthropicChoice = clientToolsUsable
                    ? JSONObject([("type", "any")])
                    : JSONObject([("type", "tool"), ("name", .string(jsonToolName))])
                tools.append(jsonTool)
            } else if let choice, !tools.isEmpty {
                anthropicChoice = mapped(choice)
            }
        }
        guard !tools.isEmpty else { return translation }
        if body["parallel_tool_calls"]?.boolValue == false {
            var object = anthropicChoice ?? JSONObject([("type", "auto")])
            if object["type"]?.stringValue != "none" { object["disable_parallel_tool_use"] = true }
            anthropicChoice = object
        }
        translation.tools = tools
        translation.toolChoice = anthropicChoice.map(JSONValue.object)
        return translation
    }

    private static func isNone(_ choice: Choice?) -> Bool {
        if case .none? = choice { return true }
        return false
    }

    private static func mapped(_ choice: Choice) -> JSONObject {
        switch choice {
        case .auto, .allowed(required: false, _): JSONObject([("type", "auto")])
        case .none: JSONObject([("type", "none")])
        case .required, .allowed(required: true, _): JSONObject([("type", "any")])
        case .function(let name): JSONObject([("type", "tool"), ("name", .string(name))])
        }
    }

    /// OpenAI function tools as Anthropic tools; `strict` is dropped (Anthropic's `strict` exists
    /// only on recent models, and the others refuse the field).
    private static func functionTools(_ value: JSONValue?) throws(GatewayError) -> [JSONValue] {
        guard case .array(let list)? = value else { return [] }
        var tools: [JSONValue] = []
        var seen: Set<String> = []
        for (index, tool) in list.enumerated() {
            let path = "tools[\(index)]"
            let type = tool["type"]?.stringValue ?? "function"
            guard type == "function" else {
                throw .invalidRequest(
                    type == "custom"
                        ? "'\(path)': custom tools are not supported for Anthropic models; declare a function tool with a JSON schema."
                        : "'\(path).type' \"\(type.prefix(40))\" is not supported for Anthropic models; only function tools are.",
                    code: "unsupported_value", param: "\(path).type")
            }
            guard case .object(let function)? = tool["function"] else { throw ChatRequest.missing("\(path).function") }
            guard let name = function["name"]?.stringValue, !name.isEmpty else {
                throw ChatRequest.missing("\(path).function.name")
            }
            guard name != jsonToolName else {
                throw .invalidRequest(
                    "'\(path).function.name' \"\(jsonToolName)\" is reserved by the gateway; rename the tool.",
                    code: "invalid_value", param: "\(path).function.name")
            }
            guard seen.insert(name).inserted else {
                throw .invalidRequest(
                    "'\(path).function.name' \"\(name.prefix(64))\" is declared twice; tool names must be unique.",
                    code: "invalid_value", param: "\(path).function.name")
            }
            var anthropic = JSONObject([("name", .string(name))])
            if let description = function["description"]?.stringValue, !description.isEmpty {
                anthropic["description"] = .string(description)
            }
            switch function["parameters"] {
            case nil, .null?: anthropic["input_schema"] = ["type": "object", "properties": [:]]
            case .object(let schema)?: anthropic["input_schema"] = .object(schema)
            case let other?: throw ChatRequest.wrongType("\(path).function.parameters", "a JSON Schema object", other)
            }
            tools.append(.object(anthropic))
        }
        return tools
    }

    private static func toolChoice(_ value: JSONValue?, names: [String]) throws(GatewayError) -> Choice? {
        let choice: Choice
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: choice = .auto
        case .string("none")?: choice = .none
        case .string("required")?: choice = .required
        case .object(let object)?:
            switch object["type"]?.stringValue {
            case "function":
                guard let name = object["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw ChatRequest.missing("tool_choice.function.name")
                }
                guard names.contains(name) else {
                    throw .invalidRequest(
                        "'tool_choice' names the function \"\(name.prefix(64))\", which is not in 'tools'.",
                        code: "invalid_value", param: "tool_choice.function.name")
                }
                choice = .function(name)
            case "allowed_tools":
                let allowedPath = "tool_choice.allowed_tools"
                guard case .array(let list)? = object["allowed_tools"]?["tools"] else {
                    throw ChatRequest.missing("\(allowedPath).tools")
                }
                var allowed: [String] = []
                for (index, tool) in list.enumerated() {
                    guard let name = tool["function"]?["name"]?.stringValue, names.contains(name) else {
                        throw .invalidRequest(
                            "'\(allowedPath).tools[\(index)]' must name a function declared in 'tools'.",
                            code: "invalid_value", param: "\(allowedPath).tools[\(index)]")
                    }
                    allowed.append(name)
                }
                switch object["allowed_tools"]?["mode"]?.stringValue {
                case "auto"?, nil: choice = .allowed(required: false, names: allowed)
                case "required"?: choice = .allowed(required: true, names: allowed)
                default:
                    throw .invalidRequest(
                        "'\(allowedPath).mode' must be \"auto\" or \"required\".", code: "invalid_value",
                        param: "\(allowedPath).mode")
                }
            case "custom":
                throw .invalidRequest(
                    "'tool_choice' cannot force a custom tool: custom tools are not supported for Anthropic models.",
                    code: "unsupported_value", param: "tool_choice.type")
            default:
                throw .invalidRequest(
                    "'tool_choice' must be \"auto\", \"none\", \"required\", a function or allowed_tools.",
                    code: "invalid_value", param: "tool_choice")
            }
        case let other?:
            throw .invalidRequest(
                "'tool_choice' must be \"auto\", \"none\", \"required\" or an object, not \(other.typeDescription.prefix(40)).",
                code: "invalid_value", param: "tool_choice")
        }
        switch choice {
        case .required, .function, .allowed(required: true, _):
            guard !names.isEmpty else {
                throw .invalidRequest(
                    "'tool_choice' requires a tool call, but 'tools' is empty.", code: "invalid_value", param: "tool_choice")
            }
        default: break
        }
        return choice
    }

    /// The synthetic tool for `response_format`, or nil for `text` and no format.
    private static func responseFormatTool(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        let defaultDescription = "Give your final answer by calling this tool. Its input is returned to the user verbatim as the JSON answer."
        switch value["type"]?.stringValue {
        case "text": return nil
        case "json_object":
            return .object(JSONObject([
                ("name", .string(jsonToolName)),
                ("description", .string(defaultDescription)),
                ("input_schema", ["type": "object", "properties": [:], "additionalProperties": true]),
            ]))
        case "json_schema":
            let format = value["json_schema"]
            var schema: JSONValue = ["type": "object", "properties": [:], "additionalProperties": true]
            if let given = format?["schema"], !given.isNull {
                guard given.objectValue != nil, given["type"]?.stringValue == "object" else {
                    throw .invalidRequest(
                        "'response_format.json_schema.schema' must be an object schema ({\"type\": \"object\", …}) for Anthropic models.",
                        code: "invalid_value", param: "response_format.json_schema.schema")
                }
                schema = given
            }
            var description = defaultDescription
            if let text = format?["description"]?.stringValue, !text.isEmpty { description += " " + text }
            return .object(JSONObject([
                ("name", .string(jsonToolName)),
                ("description", .string(description)),
                ("input_schema", schema),
            ]))
        case let type:
            throw .invalidRequest(
                "'response_format.type' \"\((type ?? "").prefix(40))\" is not supported; use text, json_object or json_schema.",
                code: "unsupported_value", param: "response_format.type")
        }
    }
}
