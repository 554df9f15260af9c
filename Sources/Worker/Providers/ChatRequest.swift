import Common

/// A client's `POST /v1/chat/completions` body, parsed once and checked for what every provider
/// needs: a model, messages of known roles, and the types of the common fields. The whole body
/// is kept, so OpenAI receives the client's fields untouched and the other providers' translators
/// read what they map.
struct ChatRequest: Sendable, Equatable {
    var body: JSONObject
    /// The model as requested: `gpt-4o`, or `anthropic/claude-sonnet-4-5`.
    var model: String
    var stream: Bool
    /// The client asked for a final usage chunk on its stream.
    var includeUsage: Bool
    var messages: [JSONObject]

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// Parses and validates a request body; every refusal is a 400 naming the field.
    static func parse(_ bytes: [UInt8]) throws(GatewayError) -> ChatRequest {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .invalidRequest("The request body is not valid JSON: \(error.description).", code: "invalid_json")
        }
        guard case .object(let body) = value else {
            throw .invalidRequest("The request body must be a JSON object, not \(value.typeDescription).")
        }
        return try ChatRequest(body: body)
    }

    init(body: JSONObject) throws(GatewayError) {
        self.body = body
        guard let modelValue = body["model"] else { throw Self.missing("model") }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw Self.wrongType("model", "a non-empty string", modelValue)
        }
        self.model = model

        guard let messagesValue = body["messages"] else { throw Self.missing("messages") }
        guard case .array(let list) = messagesValue else { throw Self.wrongType("messages", "an array", messagesValue) }
        guard !list.isEmpty else {
            throw .invalidRequest("'messages' must contain at least one message.", code: "invalid_value", param: "messages")
        }
        var messages: [JSONObject] = []
        messages.reserveCapacity(list.count)
        for (index, element) in list.enumerated() {
            // Built only for an error message: this loop runs for every message of every request.
            var path: String { "messages[\(index)]" }
            guard case .object(let message) = element else { throw Self.wrongType(path, "an object", element) }
            guard let roleValue = message["role"] else { throw Self.missing("\(path).role") }
            guard case .string(let role) = roleValue else { throw Self.wrongType("\(path).role", "a string", roleValue) }
            guard Self.roles.contains(role) else {
                throw .invalidRequest(
                    "'\(path).role' must be one of system, developer, user, assistant or tool; got '\(role.prefix(40))'.",
                    code: "invalid_value", param: "\(path).role")
            }
            if let content = message["content"] {
                switch content {
                case .string, .array: break
                case .null where role == "assistant": break
                default: throw Self.wrongType("\(path).content", "a string or an array of content parts", content)
                }
            } else if role != "assistant" {
                throw Self.missing("\(path).content")
            }
            if role == "tool", message["tool_call_id"]?.stringValue == nil {
                throw Self.missing("\(path).tool_call_id")
            }
            messages.append(message)
        }
        self.messages = messages

        stream = try Self.optional(body, "stream", as: "a boolean") { $0.boolValue } ?? false
        if let options = body["stream_options"], !options.isNull {
            guard case .object(let object) = options else { throw Self.wrongType("stream_options", "an object", options) }
            includeUsage = try Self.optional(object, "include_usage", path: "stream_options.include_usage", as: "a boolean") {
                $0.boolValue
            } ?? false
        } else {
            includeUsage = false
        }
        for field in Self.numberFields {
            _ = try Self.optional(body, field, as: "a number") { $0.doubleValue }
        }
        for field in Self.integerFields {
            if let value = try Self.optional(body, field, as: "an integer", { $0.intValue }), value < 0 || (field == "n" && value < 1) {
                throw .invalidRequest("'\(field)' must be at least \(field == "n" ? 1 : 0).", code: "invalid_value", param: field)
            }
        }
        if let stop = body["stop"], !stop.isNull {
            switch stop {
            case .string: break
            case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): break
            default: throw Self.wrongType("stop", "a string or an array of strings", stop)
            }
        }
        if let tools = body["tools"], !tools.isNull {
            guard case .array(let items) = tools else { throw Self.wrongType("tools", "an array", tools) }
            for (index, tool) in items.enumerated() {
                guard tool.objectValue != nil else { throw Self.wrongType("tools[\(index)]", "an object", tool) }
            }
        }
        if let format = body["response_format"], !format.isNull {
            guard format["type"]?.stringValue != nil else {
                throw Self.wrongType("response_format", "an object with a string 'type'", format)
            }
        }
    }

    private static let numberFields = ["temperature", "top_p", "frequency_penalty", "presence_penalty"]
    private static let integerFields = ["max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"]

    /// The value of a numeric or string option when present and not null.
    var temperature: Double? { body["temperature"]?.doubleValue }

    // MARK: - Errors

    static func missing(_ field: String) -> GatewayError {
        .invalidRequest("Missing required parameter: '\(field)'.", code: "missing_required_parameter", param: field)
    }

    static func wrongType(_ field: String, _ expected: String, _ value: JSONValue) -> GatewayError {
        .invalidRequest("'\(field)' must be \(expected), not \(value.typeDescription).", code: "invalid_type", param: field)
    }

    private static func optional<T>(
        _ object: JSONObject, _ field: String, path: String? = nil, as expected: String, _ read: (JSONValue) -> T?
    ) throws(GatewayError) -> T? {
        guard let value = object[field], !value.isNull else { return nil }
        guard let typed = read(value) else { throw wrongType(path ?? field, expected, value) }
        return typed
    }
}
