import Common
import Foundation
import Testing

@testable import Worker

/// The Gemini translator against golden files of real-shaped payloads (Golden/Gemini):
///
/// - `requests/NAME.request.json` (an OpenAI request) → `NAME.expected.json`: the upstream
///   `{url, headers, body}`, or `{"gateway_error": …}` for a request refused with a 400.
/// - `responses/NAME.gemini.json` (a Gemini answer) → `NAME.expected.json` (a `chat.completion`).
/// - `streams/NAME.sse` (a Gemini SSE body) → `NAME.expected.jsonl`: every output in order, one
///   per line: a chunk, `{"gateway_usage": …}`, `{"gateway_error": …}` or `"[DONE]"`. Names
///   containing `.usage` run with `stream_options.include_usage`.
/// - `errors/NAME.STATUS.body` (an error body) → `NAME.expected.json` (`{"gateway_error": …}`).
///
/// Values are compared as parsed JSON: exact values and number literals, object key order
/// ignored. `GEMINI_GOLDEN_RECORD=1` writes a missing expected file (review it before committing).
@Suite struct GeminiTranslatorTests {
    let provider = GeminiProvider()
    static let credentials = ProviderCredentials(apiKey: "test-gemini-key", baseURL: "https://generativelanguage.googleapis.com/")

    static func context(includeUsage: Bool = false, model: String = "gemini-2.5-flash") -> TranslationContext {
        TranslationContext(requestID: "req_golden", model: model, created: 1_760_000_000, includeUsage: includeUsage)
    }

    // MARK: - Golden files

    @Test(arguments: GeminiGolden.names(in: "requests", suffix: ".request.json"))
    func requestGolden(_ name: String) throws {
        let request = try ChatRequest.parse(GeminiGolden.bytes("requests", "\(name).request.json"))
        let model = ProviderID.resolve(request.model)?.model ?? request.model
        let actual: JSONValue
        do {
            let upstream = try provider.makeRequest(request, model: model, stream: request.stream, credentials: Self.credentials)
            actual = [
                "url": .string(upstream.url),
                "headers": .object(JSONObject(upstream.headers.map { (key: $0.name, value: .string($0.value)) })),
                "body": try JSONParser.parse(upstream.body),
            ]
        } catch let error as GatewayError {
            actual = ["gateway_error": GeminiGolden.json(error)]
        }
        try GeminiGolden.expect(actual, matches: "requests", "\(name).expected.json")
    }

    @Test(arguments: GeminiGolden.names(in: "responses", suffix: ".gemini.json"))
    func responseGolden(_ name: String) throws {
        let translated = try provider.translateResponse(GeminiGolden.bytes("responses", "\(name).gemini.json"), context: Self.context())
        try GeminiGolden.expect(translated.body, matches: "responses", "\(name).expected.json")
        #expect(translated.body["usage"] == translated.usage.json)
        #expect(translated.body["model"]?.stringValue == translated.model)
    }

    @Test(arguments: GeminiGolden.names(in: "streams", suffix: ".sse"))
    func streamGolden(_ name: String) throws {
        let outputs = stream(try GeminiGolden.bytes("streams", "\(name).sse"), includeUsage: name.contains(".usage"))
        try GeminiGolden.expect(.array(outputs.map(GeminiGolden.json)), matches: "streams", "\(name).expected.jsonl")
        // The stream's contract: exactly one terminal output, last, and nothing after it.
        let terminals = outputs.filter { if case .done = $0 { true } else if case .error = $0 { true } else { false } }
        #expect(terminals.count == 1)
        #expect(terminals.first == outputs.last)
        if case .done = outputs.last { #expect(outputs.contains { if case .usage = $0 { true } else { false } }) }
    }

    @Test(arguments: GeminiGolden.names(in: "errors", suffix: ".body"))
    func errorGolden(_ file: String) throws {
        // `NAME.STATUS`: the status the upstream answered with.
        let status = try #require(Int(file.split(separator: ".").last ?? ""))
        let name = file.split(separator: ".").dropLast().joined(separator: ".")
        let error = provider.translateError(status: status, headers: [], body: try GeminiGolden.bytes("errors", "\(file).body"))
        try GeminiGolden.expect(["upstream_status": .int(status), "gateway_error": GeminiGolden.json(error)], matches: "errors", "\(name).expected.json")
    }

    // MARK: - Streams split anywhere

    @Test(arguments: GeminiGolden.names(in: "streams", suffix: ".sse"))
    func splitAtEveryByteBoundaryGivesTheSameOutputs(_ name: String) throws {
        let body = try GeminiGolden.bytes("streams", "\(name).sse")
        let includeUsage = name.contains(".usage")
        let whole = stream(body, includeUsage: includeUsage)
        for offset in 0...body.count {
            let split = stream(body, includeUsage: includeUsage, pieces: [0..<offset, offset..<body.count])
            #expect(split == whole, "split at byte \(offset) of \(name)")
            if split != whole { break }
        }
        let byteByByte = stream(body, includeUsage: includeUsage, pieces: body.indices.map { $0..<$0 + 1 })
        #expect(byteByByte == whole)
    }

    @Test(arguments: ["text.sse", "tool-calls.usage.sse", "thoughts-crlf.usage.sse", "two-candidates.usage.sse"])
    func aBodyCutBeforeItsLastEventIsNeverComplete(_ file: String) throws {
        let body = try GeminiGolden.bytes("streams", file)
        // The final event's JSON ends at the last `}` of the body.
        let lastBrace = try #require(body.lastIndex(of: UInt8(ascii: "}")))
        for length in 0...body.count {
            let outputs = stream(Array(body[..<length]), includeUsage: true)
            if length <= lastBrace {
                guard case .error(let error) = outputs.last else {
                    Issue.record("a body cut at byte \(length) of \(file) did not end with an error")
                    return
                }
                #expect(error.code == "upstream_stream_truncated" || error.status == 502)
                #expect(!outputs.contains(.done))
            } else {
                #expect(outputs.last == .done, "a body complete but for its blank line (\(length) of \(file))")
            }
        }
    }

    // MARK: - Tool-call ids

    @Test func toolCallIDsCarryWhatMustRoundTrip() throws {
        let id = GeminiToolCallID.make(requestID: "req_1", candidate: 0, index: 2, geminiID: "fc_9", signature: "Ci+Q/b==")
        #expect(id == "call_req_1_2__gid__fc_9__thought__Ci-Q_b")
        #expect(GeminiToolCallID.parse(id) == ("fc_9", "Ci+Q/b=="))
        // Within the characters every provider accepts in a tool id.
        #expect(id.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || ($0 < 0x80 && Character(Unicode.Scalar($0)).isLetter) || ($0 < 0x80 && Character(Unicode.Scalar($0)).isNumber) })
        #expect(GeminiToolCallID.parse("call_r_0__thought__CiQB0e2K+b3Ro/=") == (nil, "CiQB0e2K+b3Ro/=="))
        #expect(GeminiToolCallID.make(requestID: "r", candidate: 1, index: 0, geminiID: nil, signature: nil) == "call_r_1_0")
        #expect(GeminiToolCallID.parse("call_r_1_0") == (nil, nil))
        #expect(GeminiToolCallID.parse("toolu_01A__thought__") == (nil, nil))
        #expect(GeminiToolCallID.parse("call_x__thought__not base64!") == (nil, nil))
        // A signature that is not base64 is not put in an id it could not be read back from.
        #expect(GeminiToolCallID.make(requestID: "r", candidate: 0, index: 0, geminiID: nil, signature: "a b") == "call_r_0")
    }

    /// An answer's tool calls, quoted back in the next request, give Gemini back its signature and
    /// call id, and the results are matched to their functions by name.
    @Test func anAnswersToolCallsComeBackToGeminiUnchanged() throws {
        let answer = try provider.translateResponse(
            GeminiGolden.bytes("responses", "parallel-tool-calls.gemini.json"), context: Self.context())
        let message = try #require(answer.body["choices"]?.arrayValue?.first?["message"])
        let calls = try #require(message["tool_calls"]?.arrayValue)
        var messages: [JSONValue] = [["role": "user", "content": "Check my orders."], message]
        for (index, call) in calls.enumerated() {
            messages.append(["role": "tool", "tool_call_id": call["id"] ?? nil, "content": .string("result \(index)")])
        }
        let request = try ChatRequest(body: JSONObject([(key: "model", value: "gemini-2.5-pro"), (key: "messages", value: .array(messages))]))
        let upstream = try provider.makeRequest(request, model: "gemini-2.5-pro", stream: false, credentials: Self.credentials)
        let contents = try #require(try JSONParser.parse(upstream.body)["contents"]?.arrayValue)
        let modelParts = try #require(contents[1]["parts"]?.arrayValue)
        let original = try #require(try JSONParser.parse(GeminiGolden.bytes("responses", "parallel-tool-calls.gemini.json"))["candidates"]?
            .arrayValue?.first?["content"]?["parts"]?.arrayValue)
        #expect(modelParts.count == original.count)
        for (sent, received) in zip(modelParts, original) {
            #expect(sent["thoughtSignature"] == received["thoughtSignature"])
            #expect(sent["functionCall"]?["id"] == received["functionCall"]?["id"])
            #expect(sent["functionCall"]?["name"] == received["functionCall"]?["name"])
            #expect(sent["functionCall"]?["args"] == (received["functionCall"].map { $0["args"] ?? [:] }))
            #expect(sent["text"] == received["text"])
        }
        let results = try #require(contents[2]["parts"]?.arrayValue)
        #expect(results.map { $0["functionResponse"]?["name"]?.stringValue } == ["lookup_order", "lookup_order", "ping"])
        #expect(results[1]["functionResponse"]?["id"] == "fc-991")
        #expect(results[0]["functionResponse"]?["response"] == ["output": "result 0"])
    }

    // MARK: - The request's envelope

    @Test func theKeyTravelsInAHeaderAndTheURLNamesTheMethod() throws {
        let request = try ChatRequest(body: JSONObject([(key: "model", value: "gemini-2.5-flash"), (key: "messages", value: [["role": "user", "content": "Hi"]])]))
        let credentials = ProviderCredentials(apiKey: "secret-key-123", baseURL: "http://127.0.0.1:9999//")
        let plain = try provider.makeRequest(request, model: "gemini-2.5-flash", stream: false, credentials: credentials)
        let streaming = try provider.makeRequest(request, model: "models/gemini-2.5-flash", stream: true, credentials: credentials)
        #expect(plain.url == "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(streaming.url == "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        for upstream in [plain, streaming] {
            #expect(!upstream.url.contains("secret-key-123"))
            #expect(upstream.headers.contains(.init("x-goog-api-key", "secret-key-123")))
            #expect(upstream.headers.contains(.init("Content-Type", "application/json")))
        }
        #expect(plain.body == streaming.body)
    }

    // MARK: - Malformed input from the provider

    @Test(arguments: [
        "", "not json", "{", "[]", "[1,2]", "null", "42", "\"text\"", "{}", "{\"candidates\": 5}", "{\"candidates\": []}",
        "{\"candidates\": [3]}", "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"cut", "\u{FEFF}{}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\\ud800\"}]}}]}",
    ])
    func malformedAnswersAreA502(_ body: String) {
        do {
            _ = try provider.translateResponse(Array(body.utf8), context: Self.context())
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.status == 502)
            #expect(error.type == "api_error")
            #expect(error.code == "bad_upstream_response")
            #expect(error.retryable)
        }
    }

    @Test func oddButValidAnswersAreRead() throws {
        let body = #"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}},{"inlineData":{"mimeType":"image/png","data":"AA=="}},7,{"text":5}]},"finishReason":"OTHER","index":-4}],"usageMetadata":{"promptTokenCount":-3,"candidatesTokenCount":"x"}}"#
        let answer = try provider.translateResponse(Array(body.utf8), context: Self.context())
        let choice = try #require(answer.body["choices"]?.arrayValue?.first)
        #expect(choice["index"] == 0)
        #expect(choice["message"]?["content"] == .null)
        #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == "{}")
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(answer.usage == Usage())
    }

    @Test func anErrorInsideA2xxBodyIsThatError() {
        let body = #"{"error":{"code":429,"message":"Slow down.","status":"RESOURCE_EXHAUSTED"}}"#
        do {
            _ = try provider.translateResponse(Array(body.utf8), context: Self.context())
            Issue.record("accepted an error body")
        } catch {
            #expect(error.status == 429)
            #expect(error.type == "rate_limit_error")
            #expect(error.message == "Gemini: Slow down.")
            #expect(error.retryable)
        }
    }

    @Test(arguments: [
        "data: {\"error\": \"flat\"}\n\n", "data: [1]\n\n", "data: 7\n\n", "data: {\"candidates\": 3}\n\n",
        "event: ping\ndata: {}\n\n", "data: {\"candidates\": [{\"index\": 99999999999999999999}]}\n\n",
        "data:{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"STOP\"}]}\r\r",
    ])
    func oddStreamsEndInExactlyOneTerminalOutput(_ body: String) {
        let outputs = stream(Array(body.utf8), includeUsage: true)
        let terminals = outputs.filter { if case .done = $0 { true } else if case .error = $0 { true } else { false } }
        #expect(terminals.count == 1)
        #expect(terminals.first == outputs.last)
    }

    @Test func nothingFollowsAnError() {
        var translator = provider.makeStreamTranslator(context: Self.context())
        let first = translator.consume(Array("data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n".utf8))
        #expect(first.count == 1)
        #expect(translator.consume(Array("data: {\"candidates\":[]}\n\n".utf8)).isEmpty)
        #expect(translator.finish().isEmpty)
    }

    @Test func errorBodiesThatAreNotGoogleErrorsGetAGenericMessage() {
        for body in ["", "upstream connect error", "{\"error\": \"text\"}", "[{\"error\": 1}, 2]", "{\"message\": \"x\"}"] {
            let error = provider.translateError(status: 503, headers: [], body: Array(body.utf8))
            #expect(error.status == 503)
            #expect(error.message == "Gemini answered HTTP 503 without an error the gateway could read.")
            #expect(error.retryable)
        }
        let odd = provider.translateError(status: 302, headers: [], body: [])
        #expect(odd.status == 502)
        #expect(odd.retryable)
    }

    @Test func aRetryDelayInTheBodyBecomesRetryAfter() {
        func retryAfter(_ delay: String, quota: String = "GenerateRequestsPerMinutePerProjectPerModel") -> String? {
            let body = #"{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"\#(quota)"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"\#(delay)"}]}}"#
            return provider.translateError(status: 429, headers: [], body: Array(body.utf8)).retryAfter
        }
        #expect(retryAfter("27s") == "27")
        #expect(retryAfter("3.700s") == "4")
        #expect(retryAfter("0.2s") == "1")
        #expect(retryAfter("soon") == nil)
        #expect(retryAfter("-5s") == nil)
        #expect(retryAfter("19s", quota: "GenerateRequestsPerDayPerProjectPerModel-FreeTier") == nil)
    }

    // MARK: - Throughput

    /// Round trips per second of makeRequest + translateResponse for a ~2 KB request and a typical
    /// answer. Run in release: `GEMINI_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter GeminiTranslatorTests/throughput`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GEMINI_BENCH"] == "1"))
    func throughput() throws {
        let request = try ChatRequest.parse(GeminiGolden.benchmarkRequest)
        let answer = try GeminiGolden.bytes("responses", "text-with-thoughts.gemini.json")
        let context = Self.context()
        let clock = ContinuousClock()
        var rounds = 0
        var bytes = 0
        let start = clock.now
        while clock.now - start < .seconds(3) {
            for _ in 0..<100 {
                let upstream = try provider.makeRequest(request, model: "gemini-2.5-flash", stream: false, credentials: Self.credentials)
                let translated = try provider.translateResponse(answer, context: context)
                bytes &+= upstream.body.count &+ translated.body.serialized().count
            }
            rounds += 100
        }
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let elapsed = seconds(clock.now - start)
        let parseStart = clock.now
        for _ in 0..<1000 { _ = try ChatRequest.parse(GeminiGolden.benchmarkRequest) }
        let parseSeconds = seconds(clock.now - parseStart)
        print("""
            Gemini round trip: request \(GeminiGolden.benchmarkRequest.count) bytes, answer \(answer.count) bytes: \
            \(Int(Double(rounds) / elapsed)) round trips/s on one core (makeRequest + translateResponse + serialize); \
            client request parse: \(Int(1000 / parseSeconds))/s. [\(bytes)]
            """)
    }

    // MARK: - Helpers

    /// Feeds `body` in `pieces` (whole by default) and finishes.
    func stream(_ body: [UInt8], includeUsage: Bool, pieces: [Range<Int>]? = nil) -> [StreamOutput] {
        var translator = provider.makeStreamTranslator(context: Self.context(includeUsage: includeUsage))
        var outputs: [StreamOutput] = []
        for range in pieces ?? [0..<body.count] { outputs += translator.consume(Array(body[range])) }
        return outputs + translator.finish()
    }
}

/// Golden-file plumbing: locating, reading, comparing and (on request) recording.
enum GeminiGolden {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/Gemini")

    static func names(in folder: String, suffix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
        return files.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    static func bytes(_ folder: String, _ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(folder).appendingPathComponent(file)))
    }

    static func json(_ error: GatewayError) -> JSONValue {
        [
            "status": .int(error.status), "type": .string(error.type), "code": error.code.map(JSONValue.string) ?? .null,
            "param": error.param.map(JSONValue.string) ?? .null, "message": .string(error.message), "retryable": .bool(error.retryable),
            "retry_after": error.retryAfter.map(JSONValue.string) ?? .null,
        ]
    }

    static func json(_ output: StreamOutput) -> JSONValue {
        switch output {
        case .chunk(let chunk): chunk
        case .rawChunk(let text): (try? JSONParser.parse(text)) ?? .null
        case .usage(let usage):
            [
                "gateway_usage": [
                    "prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens),
                    "cached_tokens": .int(usage.cachedTokens), "cache_write_tokens": .int(usage.cacheWriteTokens),
                    "reasoning_tokens": .int(usage.reasoningTokens),
                ]
            ]
        case .error(let error): ["gateway_error": json(error)]
        case .done: "[DONE]"
        }
    }

    /// Compares `actual` with the expected file; a `.jsonl` file holds an array, one element a line.
    static func expect(_ actual: JSONValue, matches folder: String, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = root.appendingPathComponent(folder).appendingPathComponent(file)
        let isLines = file.hasSuffix(".jsonl")
        guard FileManager.default.fileExists(atPath: url.path) else {
            if ProcessInfo.processInfo.environment["GEMINI_GOLDEN_RECORD"] == "1" {
                let text = isLines ? (actual.arrayValue ?? []).map(\.jsonText).joined(separator: "\n") + "\n" : pretty(actual) + "\n"
                try Data(text.utf8).write(to: url)
                Issue.record("recorded \(folder)/\(file); review it", sourceLocation: sourceLocation)
            } else {
                Issue.record("missing golden file \(folder)/\(file)", sourceLocation: sourceLocation)
            }
            return
        }
        let data = Array(try Data(contentsOf: url))
        let expected: JSONValue
        if isLines {
            let lines = data.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D } }
            expected = .array(try lines.map { try JSONParser.parse(Array($0)) })
        } else {
            expected = try JSONParser.parse(data)
        }
        if canonical(actual) != canonical(expected) {
            Issue.record(
                "\(folder)/\(file) differs.\nexpected: \(canonical(expected).jsonText)\nactual:   \(canonical(actual).jsonText)",
                sourceLocation: sourceLocation)
        }
    }

    /// Object keys sorted, so that key order does not count.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements): .array(elements.map(canonical))
        case .object(let object): .object(JSONObject(object.fields.map { ($0.key, canonical($0.value)) }.sorted { $0.0 < $1.0 }
            .map { (key: $0.0, value: $0.1) }))
        default: value
        }
    }

    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let elements) where !elements.isEmpty:
            if elements.allSatisfy({ $0.arrayValue == nil && $0.objectValue == nil }) { return value.jsonText }
            return "[\n" + elements.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let object) where !object.isEmpty:
            return "{\n" + object.fields.map { field in
                var key: [UInt8] = []
                JSONValue.writeString(field.key, to: &key)
                return inner + String(decoding: key, as: UTF8.self) + ": " + pretty(field.value, indent: inner)
            }.joined(separator: ",\n") + "\n\(indent)}"
        default: return value.jsonText
        }
    }

    /// A ~2 KB request of the usual shape: a system prompt, a few turns, two tools.
    static let benchmarkRequest: [UInt8] = Array(#"""
        {"model":"gemini-2.5-flash","temperature":0.3,"max_tokens":800,"stream":false,"user":"u-42",
         "messages":[
          {"role":"system","content":"You are the support assistant of an online shop. Answer briefly and politely. When the customer asks about an order, look it up with the lookup_order tool before answering. Never invent order data. If the customer wants to return an item, explain the 30-day return policy and offer to start a return with start_return."},
          {"role":"user","content":"Hi! I ordered a pair of running shoes last week and they have not arrived yet. The order number is A-17. Can you check where it is?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_req_prev_0","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-17\"}"}}]},
          {"role":"tool","tool_call_id":"call_req_prev_0","content":"{\"status\":\"shipped\",\"carrier\":\"DHL\",\"tracking\":\"JD0146000033\",\"eta\":\"2026-08-03\",\"items\":[{\"sku\":\"RUN-42\",\"name\":\"Trail runner 42\",\"qty\":1}]}"},
          {"role":"assistant","content":"Your order A-17 has shipped with DHL (tracking JD0146000033) and should arrive by August 3rd."},
          {"role":"user","content":"Great, thanks. If they do not fit, can I send them back? And how long do I have to decide? I might also want a different colour instead of a refund."}
         ],
         "tools":[
          {"type":"function","function":{"name":"lookup_order","description":"Fetch an order by its id","parameters":{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, like A-17"}},"required":["order_id"],"additionalProperties":false},"strict":true}},
          {"type":"function","function":{"name":"start_return","description":"Start a return or an exchange for items of an order","parameters":{"type":"object","properties":{"order_id":{"type":"string"},"sku":{"type":"string"},"reason":{"type":"string","enum":["size","colour","damaged","other"]},"exchange":{"type":["boolean","null"]}},"required":["order_id","sku","reason"],"additionalProperties":false},"strict":true}}
         ],
         "tool_choice":"auto"}
        """#.utf8)
}
