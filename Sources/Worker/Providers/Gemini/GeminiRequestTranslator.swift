import Common

/// An OpenAI chat request as a Gemini `GenerateContentRequest` body.
///
/// Mapped: `messages` (see `GeminiMessageTranslator`), `tools` (function tools, schemas reduced
/// by `GeminiSchemaReducer`), `tool_choice`, `response_format`, `temperature`, `top_p`, `top_k`
/// (an extension some clients send), `max_completion_tokens` (else `max_tokens`), `stop`, `n`
/// (`candidateCount`), `seed`, non-zero `presence_penalty`/`frequency_penalty`, and
/// `reasoning_effort` (thinking level on Gemini 3, thinking budget on 2.5, dropped on older).
///
/// Refused with a 400 naming the field, because Gemini cannot do what they ask and silently
/// ignoring them would change the answer: `logprobs: true` (and `top_logprobs` above 0), a
/// non-empty `logit_bias`, `audio` and `modalities` with audio output, `prediction`,
/// `web_search_options`, the deprecated `functions`/`function_call`, `custom` tools and any
/// tool type but `function`.
///
/// Dropped, as bookkeeping or hints Gemini has no field for: `user`, `metadata`, `store`,
/// `service_tier`, `safety_identifier`, `prompt_cache_key`, `parallel_tool_calls`, `verbosity`,
/// `stream_options` (usage always comes with the last chunk), `function.strict`,
/// `json_schema.name`/`description`/`strict`, and every field not named here. Nothing of the
/// client's body is forwarded as it is: the Gemini body is built from the fields above only.
struct GeminiRequestTranslator {
    let request: ChatRequest
    let model: String

    func body() throws(GatewayError) -> JSONObject {
        let fields = request.body
        try refuseUnsupported(fields)
        let messages = try GeminiMessageTranslator(messages: request.messages, requiresThoughtSignatures: isGemini3OrLater)
            .translate()

        var body = JSONObject()
        if !messages.systemParts.isEmpty {
            body["systemInstruction"] = ["parts": .array(messages.systemParts)]
        }
        body["contents"] = .array(messages.contents)
        let declarations = try functionDeclarations(fields["tools"])
        if !declarations.isEmpty {
            body["tools"] = [["functionDeclarations": .array(declarations)]]
        }
        if let toolConfig = try toolConfig(fields["tool_choice"], hasTools: !declarations.isEmpty) {
            body["toolConfig"] = ["functionCallingConfig": .object(toolConfig)]
        }
        let generation = try generationConfig(fields)
        if !generation.isEmpty { body["generationConfig"] = .object(generation) }
        return body
    }

    /// Gemini 3 and later: thinking levels, and signatures required on function calls.
    private var isGemini3OrLater: Bool {
        guard let major = Self.majorVersion(model) else { return false }
        return major >= 3
    }

    /// The major version of `gemini-<major>…`, nil for names without one (`gemini-flash-latest`).
    static func majorVersion(_ model: String) -> Int? {
        let lower = model.lowercased()
        guard lower.hasPrefix("gemini-") else { return nil }
        let digits = lower.dropFirst("gemini-".count).prefix { $0.isASCII && $0.isNumber }
        return digits.isEmpty || digits.count > 3 ? nil : Int(digits)
    }

    private func refuseUnsupported(_ fields: JSONObject) throws(GatewayError) {
        func refuse(_ field: String, _ why: String) -> GatewayError {
            .invalidRequest("'\(field)' is not supported for Gemini models: \(why)", code: "unsupported_parameter", param: field)
        }
        if fields["logprobs"]?.boolValue == true { throw refuse("logprobs", "the gateway does not translate Gemini's log probabilities.") }
        if let top = fields["top_logprobs"]?.intValue, top > 0 {
            throw refuse("top_logprobs", "the gateway does not translate Gemini's log probabilities.")
        }
        if case .object(let bias) = fields["logit_bias"], !bias.isEmpty { throw refuse("logit_bias", "Gemini has no token biases.") }
        if let audio = fields["audio"], !audio.isNull { throw refuse("audio", "Gemini chat does not produce audio.") }
        if case .array(let modalities) = fields["modalities"], modalities.contains("audio") {
            throw refuse("modalities", "Gemini chat does not produce audio.")
        }
        if let prediction = fields["prediction"], !prediction.isNull { throw refuse("prediction", "Gemini has no predicted outputs.") }
        if let search = fields["web_search_options"], !search.isNull {
            throw refuse("web_search_options", "the gateway does not enable Gemini's search tool.")
        }
        for field in ["functions", "function_call"] {
            if let value = fields[field], !value.isNull { throw refuse(field, "it is deprecated; use 'tools' and 'tool_choice'.") }
        }
    }

    private func functionDeclarations(_ value: JSONValue?) throws(GatewayError) -> [JSONValue] {
        guard let value, !value.isNull else { return [] }
        guard case .array(let tools) = value else { throw ChatRequest.wrongType("tools", "an array", value) }
        var declarations: [JSONValue] = []
        for (index, tool) in tools.enumerated() {
            let path = "tools[\(index)]"
            let type = tool["type"]?.stringValue ?? "function"
            guard type == "function" else {
                throw .invalidRequest(
                    "'\(path).type' is '\(type.prefix(40))': Gemini supports only function tools"
                        + (type == "custom" ? " (custom tools take free-form input, which Gemini cannot express)." : "."),
                    code: "unsupported_value", param: "\(path).type")
            }
            guard let function = tool["function"]?.objectValue else { throw ChatRequest.missing("\(path).function") }
            guard let name = function["name"]?.stringValue, !name.isEmpty else { throw ChatRequest.missing("\(path).function.name") }
            var declaration = JSONObject([(key: "name", value: .string(name))])
            if let description = function["description"]?.stringValue, !description.isEmpty {
                declaration["description"] = .string(description)
            }
            if let parameters = function["parameters"], !parameters.isNull {
                var reducer = GeminiSchemaReducer(param: "\(path).function.parameters", addsPropertyOrdering: false)
                // A function without arguments gets a bare OBJECT: Gemini refuses an empty
                // `properties`, and in ANY mode wants the OBJECT type stated.
                let schema = try reducer.reduce(parameters) ?? JSONObject([(key: "type", value: "OBJECT")])
                declaration["parameters"] = .object(schema)
            }
            declarations.append(.object(declaration))
        }
        return declarations
    }

    /// `tool_choice` as `functionCallingConfig`: auto → AUTO, none → NONE, required → ANY, a
    /// named function → ANY limited to it, `allowed_tools` → ANY (required) or VALIDATED (auto)
    /// limited to the listed functions.
    private func toolConfig(_ value: JSONValue?, hasTools: Bool) throws(GatewayError) -> JSONObject? {
        guard let value, !value.isNull else { return nil }
        var mode: String
        var names: [JSONValue] = []
        switch value {
        case .string("auto"): mode = "AUTO"
        case .string("none"): mode = "NONE"
        case .string("required"): mode = "ANY"
        case .object(let choice):
            switch choice["type"]?.stringValue {
            case "function":
                guard let name = choice["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw ChatRequest.missing("tool_choice.function.name")
                }
                mode = "ANY"
                names = [.string(name)]
            case "allowed_tools":
                let allowed = choice["allowed_tools"]
                switch allowed?["mode"]?.stringValue {
                case "required": mode = "ANY"
                case "auto", nil: mode = "VALIDATED"
                case let other?:
                    throw .invalidRequest(
                        "'tool_choice.allowed_tools.mode' must be auto or required, not '\(other.prefix(40))'.",
                        code: "invalid_value", param: "tool_choice.allowed_tools.mode")
                }
                for (index, tool) in (allowed?["tools"]?.arrayValue ?? []).enumerated() {
                    guard tool["type"]?.stringValue ?? "function" == "function",
                        let name = tool["function"]?["name"]?.stringValue ?? tool["name"]?.stringValue
                    else {
                        throw .invalidRequest(
                            "'tool_choice.allowed_tools.tools[\(index)]' must name a function tool for Gemini.",
                            code: "unsupported_value", param: "tool_choice.allowed_tools.tools[\(index)]")
                    }
                    names.append(.string(name))
                }
            default:
                throw .invalidRequest(
                    "'tool_choice' of type '\((choice["type"]?.stringValue ?? "none").prefix(40))' is not supported for Gemini; use auto, none, required, a function or allowed_tools.",
                    code: "unsupported_value", param: "tool_choice")
            }
        default:
            throw .invalidRequest(
                "'tool_choice' must be auto, none, required or an object naming a function.", code: "invalid_value",
                param: "tool_choice")
        }
        guard hasTools else {
            if mode == "AUTO" || mode == "NONE" { return nil }
            throw .invalidRequest("'tool_choice' requires 'tools'.", code: "invalid_value", param: "tool_choice")
        }
        var config = JSONObject([(key: "mode", value: .string(mode))])
        if !names.isEmpty { config["allowedFunctionNames"] = .array(names) }
        return config
    }

    private func generationConfig(_ fields: JSONObject) throws(GatewayError) -> JSONObject {
        var config = JSONObject()
        func number(_ field: String) -> JSONValue? {
            guard let value = fields[field], case .number = value else { return nil }
            return value
        }
        if let value = number("temperature") { config["temperature"] = value }
        if let value = number("top_p") { config["topP"] = value }
        // Integer fields go as integers: a client's `256.0` is a valid OpenAI value but not a proto int32.
        if let value = number("top_k"), let k = value.intValue { config["topK"] = .int(k) }
        if let value = number("max_completion_tokens") ?? number("max_tokens"), let limit = value.intValue {
            config["maxOutputTokens"] = .int(limit)
        }
        switch fields["stop"] {
        case .some(.string(let stop)) where !stop.isEmpty: config["stopSequences"] = [.string(stop)]
        case .some(.array(let stops)):
            let kept = stops.filter { ($0.stringValue ?? "").isEmpty == false }
            if !kept.isEmpty { config["stopSequences"] = .array(kept) }
        default: break
        }
        if let n = fields["n"]?.intValue, n > 1 {
            guard n <= 8 else {
                throw .invalidRequest("'n' is at most 8 for Gemini models.", code: "invalid_value", param: "n")
            }
            config["candidateCount"] = .int(n)
        }
        if let value = number("seed"), let seed = value.intValue { config["seed"] = .int(seed) }
        if let value = number("presence_penalty"), value.doubleValue != 0 { config["presencePenalty"] = value }
        if let value = number("frequency_penalty"), value.doubleValue != 0 { config["frequencyPenalty"] = value }
        try addResponseFormat(fields["response_format"], to: &config)
        if let thinking = try thinkingConfig(fields["reasoning_effort"]) { config["thinkingConfig"] = .object(thinking) }
        return config
    }

    /// json_object → JSON output; json_schema → JSON output held to the (reduced) schema.
    private func addResponseFormat(_ value: JSONValue?, to config: inout JSONObject) throws(GatewayError) {
        guard let value, !value.isNull, let type = value["type"]?.stringValue else { return }
        switch type {
        case "text": return
        case "json_object":
            config["responseMimeType"] = "application/json"
        case "json_schema":
            config["responseMimeType"] = "application/json"
            if let schema = value["json_schema"]?["schema"], !schema.isNull {
                var reducer = GeminiSchemaReducer(param: "response_format.json_schema.schema", addsPropertyOrdering: true)
                if let reduced = try reducer.reduce(schema) { config["responseSchema"] = .object(reduced) }
            }
        default:
            throw .invalidRequest(
                "'response_format.type' must be text, json_object or json_schema, not '\(type.prefix(40))'.",
                code: "invalid_value", param: "response_format.type")
        }
    }

    /// `reasoning_effort` as Gemini's thinking: a level on Gemini 3 (which cannot turn thinking
    /// off: none and minimal ask for the least, `low` on Pro models, which lack `minimal`), the budgets of Google's own OpenAI-compatible
    /// endpoint on 2.5 (2.5 Pro cannot go below 128), nothing on models that do not think.
    private func thinkingConfig(_ value: JSONValue?) throws(GatewayError) -> JSONObject? {
        guard let value, !value.isNull else { return nil }
        guard case .string(let effort) = value else { throw ChatRequest.wrongType("reasoning_effort", "a string", value) }
        let efforts = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]
        guard efforts.contains(effort) else {
            throw .invalidRequest(
                "'reasoning_effort' must be one of \(efforts.joined(separator: ", ")).", code: "invalid_value",
                param: "reasoning_effort")
        }
        guard let major = Self.majorVersion(model) else { return nil }
        if major >= 3 {
            let level: String
            switch effort {
            case "none", "minimal": level = model.lowercased().contains("-pro") ? "low" : "minimal"
            case "low": level = "low"
            case "medium": level = "medium"
            default: level = "high"
            }
            return JSONObject([(key: "thinkingLevel", value: .string(level))])
        }
        guard model.lowercased().hasPrefix("gemini-2.5") else { return nil }
        let budget: Int
        switch effort {
        case "none": budget = model.lowercased().hasPrefix("gemini-2.5-pro") ? 128 : 0
        case "minimal": budget = model.lowercased().hasPrefix("gemini-2.5-pro") ? 128 : 512
        case "low": budget = 1024
        case "medium": budget = 8192
        default: budget = 24576
        }
        return JSONObject([(key: "thinkingBudget", value: .int(budget))])
    }
}
