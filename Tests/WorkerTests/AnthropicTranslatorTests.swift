import Common
import Foundation
import Testing

@testable import Worker

/// The Anthropic translator against golden files in `Golden/Anthropic/` (real-shaped payloads
/// from Anthropic's API reference), plus refusals, errors per status, malformed input and the
/// stream's independence from how its bytes are split.
///
/// Goldens: `requests/X.openai.json` → `X.anthropic.json` (the upstream body);
/// `responses/X.anthropic.json` → `X.openai.json`; `streams/X.sse` → `X.expected`, one output per
/// line: `data: <chunk>` or `data: [DONE]`, `usage: <counts>`, `error: <status, retryable, body>`.
/// A stream named `*-usage` is translated for a client that asked for `include_usage`.
/// `ANTHROPIC_GOLDEN_RECORD=1 swift test --filter AnthropicTranslatorTests` rewrites the expected
/// files from the translator (review the diff before keeping it).
@Suite struct AnthropicTranslatorTests {
    static let goldenRoot = String(#filePath.dropLast("AnthropicTranslatorTests.swift".count)) + "Golden/Anthropic/"
    static let provider = AnthropicProvider()
    static let credentials = ProviderCredentials(apiKey: "sk-ant-test", baseURL: "https://api.anthropic.com/")

    static func context(includeUsage: Bool = false) -> TranslationContext {
        TranslationContext(requestID: "req_golden", model: "claude-sonnet-4-5", created: 1_760_000_000, includeUsage: includeUsage)
    }

    // MARK: - Request

    @Test(arguments: AnthropicGolden.names(in: goldenRoot + "requests", suffix: ".openai.json"))
    func requestGolden(_ name: String) throws {
        let directory = Self.goldenRoot + "requests/"
        let request = try ChatRequest.parse(AnthropicGolden.read(directory + name + ".openai.json"))
        let target = try #require(ProviderID.resolve(request.model))
        #expect(target.provider == .anthropic)
        let upstream = try Self.provider.makeRequest(request, model: target.model, stream: request.stream, credentials: Self.credentials)
        let body = try JSONParser.parse(upstream.body)
        try AnthropicGolden.expectJSON(body, file: directory + name + ".anthropic.json")
    }

    @Test func requestURLAndHeaders() throws {
        let request = try ChatRequest.parse(Array(#"{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi"}]}"#.utf8))
        for base in ["https://api.anthropic.com", "https://api.anthropic.com/", "http://127.0.0.1:9999/proxy"] {
            let upstream = try Self.provider.makeRequest(
                request, model: "claude-haiku-4-5", stream: false, credentials: .init(apiKey: "sk-ant-123", baseURL: base))
            let expectedBase = base.hasSuffix("/") ? String(base.dropLast()) : base
            #expect(upstream.url == expectedBase + "/v1/messages")
            #expect(
                upstream.headers == [
                    .init("x-api-key", "sk-ant-123"), .init("anthropic-version", "2023-06-01"),
                    .init("content-type", "application/json"),
                ])
        }
    }

    @Test(arguments: [
        ("claude-3-haiku-20240307", nil, 4096), ("claude-3-5-haiku-latest", nil, 4096), ("claude-3-5-haiku-20241022", 20000, 8192),
        ("claude-3-5-sonnet-20241022", nil, 8192), ("claude-sonnet-4-5", nil, 8192), ("claude-sonnet-4-5-20250929", 64001, 64000),
        ("claude-opus-4-0", 50000, 32000), ("claude-opus-4-1-20250805", 1000, 1000), ("claude-opus-4-20250514", nil, 8192),
        ("claude-future-9", 200000, 200000), ("claude-future-9", nil, 8192),
    ] as [(String, Int?, Int)])
    func maxTokensPerFamily(model: String, requested: Int?, expected: Int) throws {
        let cap = requested.map { #","max_completion_tokens":\#($0)"# } ?? ""
        let body = try translatedBody(#"{"model":"\#(model)","messages":[{"role":"user","content":"Hi"}]\#(cap)}"#)
        #expect(body["max_tokens"] == .int(expected))
    }

    @Test func temperatureAndTopPTogetherOnlyWhereTheModelTakesBoth() throws {
        let both = #""temperature":0.2,"top_p":0.9"#
        let older = try translatedBody(#"{"model":"claude-3-5-sonnet-latest","messages":[{"role":"user","content":"Hi"}],\#(both)}"#)
        #expect(older["temperature"] == .double(0.2) && older["top_p"] == .double(0.9))
        let newer = try translatedBody(#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],\#(both)}"#)
        #expect(newer["temperature"] == .double(0.2) && newer["top_p"] == nil)
        let topPOnly = try translatedBody(#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"top_p":0.9}"#)
        #expect(topPOnly["top_p"] == .double(0.9) && topPOnly["temperature"] == nil)
    }

    /// Each refusal is a 400 that names the field, before anything is sent.
    @Test(arguments: [
        (#""n":2"#, "n"),
        (#""logprobs":true"#, "logprobs"),
        (#""functions":[{"name":"f"}]"#, "functions"),
        (#""function_call":"auto""#, "function_call"),
        (#""modalities":["text","audio"]"#, "modalities"),
        (#""audio":{"voice":"alloy","format":"wav"}"#, "audio"),
        (#""web_search_options":{}"#, "web_search_options"),
        (#""temperature":2.5"#, "temperature"),
        (#""top_p":1.5"#, "top_p"),
        (#""top_k":0"#, "top_k"),
        (#""max_tokens":0"#, "max_tokens"),
        (#""user":42"#, "user"),
        (#""safety_identifier":"\#(String(repeating: "u", count: 257))""#, "safety_identifier"),
        (#""tools":[{"type":"custom","custom":{"name":"grep"}}]"#, "tools[0].type"),
        (#""tools":[{"type":"web_search"}]"#, "tools[0].type"),
        (#""tools":[{"type":"function","function":{"description":"no name"}}]"#, "tools[0].function.name"),
        (#""tools":[{"type":"function","function":{"name":"llm0_json_response"}}]"#, "tools[0].function.name"),
        (#""tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]"#, "tools[1].function.name"),
        (#""tools":[{"type":"function","function":{"name":"a","parameters":"{}"}}]"#, "tools[0].function.parameters"),
        (#""tool_choice":"required""#, "tool_choice"),
        (#""tool_choice":"sometimes""#, "tool_choice"),
        (#""tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}"#, "tool_choice.function.name"),
        (#""tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"custom","custom":{"name":"a"}}"#, "tool_choice.type"),
        (#""tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"zz"}}]}}"#, "tool_choice.allowed_tools.tools[0]"),
        (#""response_format":{"type":"xml"}"#, "response_format.type"),
        (#""response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array"}}}"#, "response_format.json_schema.schema"),
    ] as [(String, String)])
    func refusedFields(_ fields: String, param: String) {
        let json = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],\#(fields)}"#
        let error = translationError(json)
        #expect(error?.status == 400)
        #expect(error?.type == "invalid_request_error")
        #expect(error?.param == param)
    }

    @Test(arguments: [
        (#"{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}}]}"#, "messages[0].content[0].type"),
        (#"{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}"#, "messages[0].content[0].image_url.url"),
        (#"{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.org/a.png"}}]}"#, "messages[0].content[0].image_url.url"),
        (#"{"role":"user","content":[{"type":"image_url","image_url":{}}]}"#, "messages[0].content[0].image_url.url"),
        (#"{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}"#, "messages[0].content[0].file.file_id"),
        (#"{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/plain;base64,aGk="}}]}"#, "messages[0].content[0].file.file_data"),
        (#"{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"forever"}}]}"#, "messages[0].content[0].cache_control"),
        (#"{"role":"user","content":[{"type":"video","video":{}}]}"#, "messages[0].content[0].type"),
        (#"{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x.org/a.png"}}]}"#, "messages[0].content[0]"),
        (#"{"role":"function","name":"f","content":"1"}"#, "messages[0].role"),
        (#"{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}"#, "messages[0].function_call"),
        (#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}"#, "messages[0].tool_calls[0].function.arguments"),
        (#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}"#, "messages[0].tool_calls[0].function.arguments"),
        (#"{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}"#, "messages[0].tool_calls[0].id"),
        (#"{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x.org/a.png"}}]}"#, "messages[0].content[0]"),
    ] as [(String, String)])
    func refusedMessages(_ message: String, param: String) {
        let error = translationError(#"{"model":"claude-sonnet-4-5","messages":[\#(message)]}"#)
        #expect(error?.status == 400)
        #expect(error?.param == param)
    }

    @Test func toolCallIDsAreSanitizedTheSameWayOnBothSides() {
        #expect(AnthropicMessageTranslator.sanitizedID("call_7Qx-9") == "call_7Qx-9")
        #expect(AnthropicMessageTranslator.sanitizedID("call:7Qx.9/é") == "call_7Qx_9__")
    }

    // MARK: - Response

    @Test(arguments: AnthropicGolden.names(in: goldenRoot + "responses", suffix: ".anthropic.json"))
    func responseGolden(_ name: String) throws {
        let directory = Self.goldenRoot + "responses/"
        let translated = try Self.provider.translateResponse(
            AnthropicGolden.read(directory + name + ".anthropic.json"), context: Self.context())
        try AnthropicGolden.expectJSON(translated.body, file: directory + name + ".openai.json")
        #expect(translated.model == translated.body["model"]?.stringValue)
        #expect(translated.body["usage"] == translated.usage.json)
    }

    @Test func responseUsageCountsCacheReadsAndWritesAsPrompt() throws {
        let body = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":7,"cache_creation_input_tokens":300,"cache_read_input_tokens":2048}}"#
        let translated = try Self.provider.translateResponse(Array(body.utf8), context: Self.context())
        #expect(translated.usage == Usage(promptTokens: 2360, completionTokens: 7, cachedTokens: 2048, cacheWriteTokens: 300, reasoningTokens: 0))
    }

    @Test(arguments: [
        "", "not json", "[]", "{}", #"{"content":"text"}"#, #"{"content":[{"type":"tool_use","input":{}}]}"#,
        "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]", "\u{FF}\u{FE}",
    ])
    func malformedResponseIsABadGateway(_ body: String) {
        do {
            _ = try Self.provider.translateResponse(Array(body.utf8), context: Self.context())
            Issue.record("translated \(body)")
        } catch {
            #expect(error.status == 502)
            #expect(error.type == "api_error")
            #expect(error.code == "bad_upstream_response")
            #expect(error.retryable)
        }
    }

    @Test func errorBodyWithSuccessStatusIsTranslatedAsTheError() {
        let body = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        #expect(throws: GatewayError(status: 529, type: "api_error", code: "overloaded", message: "Anthropic: Overloaded", retryable: true)) {
            try Self.provider.translateResponse(Array(body.utf8), context: Self.context())
        }
    }

    // MARK: - Errors

    /// Status, type and retryability as `UpstreamErrors` decides (a 404 is not_found_error); the
    /// code from what Anthropic's answer says.
    @Test(arguments: [
        (400, "invalid_request_error", "messages: text content blocks must be non-empty", 400, "invalid_request_error", nil, false),
        (400, "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum", 400, "invalid_request_error", "context_length_exceeded", false),
        (400, "invalid_request_error", "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000", 400, "invalid_request_error", "context_length_exceeded", false),
        (401, "authentication_error", "invalid x-api-key", 401, "authentication_error", "invalid_api_key", false),
        (402, "billing_error", "Your credit balance is too low", 402, "api_error", "insufficient_quota", false),
        (403, "permission_error", "Your API key does not have permission", 403, "permission_error", nil, false),
        (404, "not_found_error", "model: claude-nope", 404, "not_found_error", "model_not_found", false),
        (409, "invalid_request_error", "conflict", 409, "invalid_request_error", nil, false),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", 413, "invalid_request_error", "request_too_large", false),
        (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", 429, "rate_limit_error", "rate_limit_exceeded", true),
        (500, "api_error", "Internal server error", 500, "api_error", "upstream_error", true),
        (502, "api_error", "Bad gateway", 502, "api_error", "upstream_error", true),
        (503, "api_error", "Service unavailable", 503, "api_error", "upstream_error", true),
        (504, "timeout_error", "Request timed out", 504, "api_error", "upstream_timeout", true),
        (529, "overloaded_error", "Overloaded", 529, "api_error", "overloaded", true),
        (302, "api_error", "moved", 502, "api_error", nil, false),
    ] as [(Int, String, String, Int, String, String?, Bool)])
    func errorPerStatus(
        status: Int, anthropicType: String, message: String, expectedStatus: Int, type: String, code: String?, retryable: Bool
    ) {
        let body = #"{"type":"error","error":{"type":"\#(anthropicType)","message":"\#(message)"},"request_id":"req_011CAbc"}"#
        let error = Self.provider.translateError(status: status, headers: [.init("request-id", "req_011CAbc")], body: Array(body.utf8))
        #expect(
            error == GatewayError(status: expectedStatus, type: type, code: code, message: "Anthropic: " + message, retryable: retryable))
    }

    /// A stream's `error` event carries no status: its type gives one.
    @Test(arguments: [
        ("overloaded_error", 529, "overloaded", true), ("rate_limit_error", 429, "rate_limit_exceeded", true),
        ("api_error", 500, "upstream_error", true), ("invalid_request_error", 400, nil, false),
        ("timeout_error", 504, "upstream_timeout", true), ("some_new_error", 500, "upstream_error", true),
    ] as [(String, Int, String?, Bool)])
    func streamErrorEventStatusFollowsItsType(type: String, status: Int, code: String?, retryable: Bool) {
        let event = #"event: error\#ndata: {"type":"error","error":{"type":"\#(type)","message":"m"}}\#n\#n"#
        let outputs = Self.translateStream([Array(event.utf8)], includeUsage: false)
        #expect(outputs == [.error(GatewayError(status: status, type: status == 429 ? "rate_limit_error" : status == 400 ? "invalid_request_error" : "api_error", code: code, message: "Anthropic: m", retryable: retryable))])
    }

    @Test func spendLimitIsAQuotaError() {
        let body = #"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit reached","details":{"error_code":"enforced_spend_limit_reached"}}}"#
        let error = Self.provider.translateError(status: 429, headers: [], body: Array(body.utf8))
        #expect(error.code == "insufficient_quota" && error.status == 429 && error.retryable)
    }

    @Test(arguments: [
        (413, "<html><body>413 Request Entity Too Large</body></html>", 413, "request_too_large", false),
        (502, "", 502, "upstream_error", true), (529, "upstream connect error", 529, "overloaded", true),
        (400, #"{"error":"flat"}"#, 400, nil, false), (429, #"{"error":{"type":"rate_limit_error"}}"#, 429, "rate_limit_exceeded", true),
    ] as [(Int, String, Int, String?, Bool)])
    func nonJSONErrorBodyGetsAGenericMessage(status: Int, body: String, expectedStatus: Int, code: String?, retryable: Bool) {
        let error = Self.provider.translateError(status: status, headers: [], body: Array(body.utf8))
        #expect(error.status == expectedStatus)
        #expect(error.code == code)
        #expect(error.retryable == retryable)
        #expect(error.message == "Anthropic answered HTTP \(status).")
    }

    // MARK: - Streams

    @Test(arguments: AnthropicGolden.names(in: goldenRoot + "streams", suffix: ".sse"))
    func streamGolden(_ name: String) throws {
        let directory = Self.goldenRoot + "streams/"
        let input = try AnthropicGolden.read(directory + name + ".sse")
        let outputs = Self.translateStream([input], includeUsage: name.hasSuffix("-usage"))
        try AnthropicGolden.expectLines(outputs.map(AnthropicGolden.line), file: directory + name + ".expected")
    }

    /// Every stream golden, split into two pieces at every offset, gives exactly the outputs it
    /// gives whole; so does a feed of one byte at a time.
    @Test(arguments: AnthropicGolden.names(in: goldenRoot + "streams", suffix: ".sse"))
    func streamSplitAtEveryByte(_ name: String) throws {
        let input = try AnthropicGolden.read(Self.goldenRoot + "streams/" + name + ".sse")
        let usage = name.hasSuffix("-usage")
        let whole = Self.translateStream([input], includeUsage: usage)
        for offset in 0...input.count {
            let split = Self.translateStream([Array(input[..<offset]), Array(input[offset...])], includeUsage: usage)
            guard split == whole else {
                Issue.record("\(name): split at byte \(offset) differs")
                return
            }
        }
        #expect(Self.translateStream(input.map { [$0] }, includeUsage: usage) == whole)
    }

    @Test func streamIgnoresEverythingAfterMessageStopOrError() {
        let stop = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-3-haiku-20240307\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        let trailing = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n"
        var translator = Self.provider.makeStreamTranslator(context: Self.context())
        let first = translator.consume(Array(stop.utf8))
        #expect(first.count == 4)  // role chunk, finish chunk, usage, done
        #expect(first.last == .done)
        #expect(translator.consume(Array(trailing.utf8)).isEmpty)
        #expect(translator.finish().isEmpty)
    }

    @Test func streamWithNoBytesIsTruncated() {
        var translator = Self.provider.makeStreamTranslator(context: Self.context())
        #expect(translator.finish() == [.error(AnthropicErrorTranslator.truncatedStream)])
    }

    /// An event over the SSE decoder's limit fails the stream, and the outputs before the failure
    /// do not depend on where the bytes were split (the limit is checked at fixed offsets).
    @Test func streamEventLargerThanTheDecoderAllowsFails() {
        let opening = Array(#"""
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_big","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":7,"output_tokens":1}}}


            """#.utf8)
        let huge = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: SSEDecoder.maxEventBytes)
        let after = Array(#"""


            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"after"}}


            """#.utf8)
        let input = opening + huge + after
        let whole = Self.translateStream([input], includeUsage: false)
        #expect(whole.count == 4)  // role chunk, "after", usage, error
        guard case .error(let error)? = whole.last else {
            Issue.record("no error: \(whole)")
            return
        }
        #expect(error.status == 502 && error.code == "bad_upstream_response")
        let justAfterOverflow = opening.count + SSEDecoder.maxEventBytes + 2
        #expect(Self.translateStream([Array(input[..<justAfterOverflow]), Array(input[justAfterOverflow...])], includeUsage: false) == whole)
    }

    static func translateStream(_ pieces: [[UInt8]], includeUsage: Bool) -> [StreamOutput] {
        var translator = provider.makeStreamTranslator(context: context(includeUsage: includeUsage))
        var outputs: [StreamOutput] = []
        for piece in pieces { outputs += translator.consume(piece) }
        return outputs + translator.finish()
    }

    // MARK: - Throughput

    /// Round trips (makeRequest of a ~2 KB request + translateResponse of a typical answer) per
    /// second on one core. Opt-in, since a timing means something only in release mode:
    /// `ANTHROPIC_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter AnthropicTranslatorTests/throughput`
    @Test(.enabled(if: AnthropicGolden.environment("ANTHROPIC_BENCH") != nil))
    func throughput() throws {
        let requestBytes = try AnthropicGolden.read(Self.goldenRoot + "bench/request.openai.json")
        let responseBytes = try AnthropicGolden.read(Self.goldenRoot + "bench/response.anthropic.json")
        let context = Self.context()
        func roundTrip() throws -> Int {
            let request = try ChatRequest.parse(requestBytes)
            let upstream = try Self.provider.makeRequest(request, model: "claude-sonnet-4-5", stream: false, credentials: Self.credentials)
            let response = try Self.provider.translateResponse(responseBytes, context: context)
            return upstream.body.count + response.body.serialized().count
        }
        for _ in 0..<2000 { _ = try roundTrip() }
        let iterations = 50_000
        var bytes = 0
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for _ in 0..<iterations { bytes &+= try roundTrip() }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "Anthropic round trip: request \(requestBytes.count) B, response \(responseBytes.count) B: "
                + "\(Int(Double(iterations) / seconds)) round trips/s (\(Int(seconds * 1e9 / Double(iterations))) ns each; parse+translate+serialize, \(bytes) bytes out)")
    }

    // MARK: - Helpers

    func translatedBody(_ json: String) throws -> JSONValue {
        let request = try ChatRequest.parse(Array(json.utf8))
        let upstream = try Self.provider.makeRequest(request, model: request.model, stream: false, credentials: Self.credentials)
        return try JSONParser.parse(upstream.body)
    }

    func translationError(_ json: String) -> GatewayError? {
        do {
            _ = try translatedBody(json)
            return nil
        } catch let error as GatewayError {
            return error
        } catch {
            return nil
        }
    }
}

/// Reading, comparing and (on request) recording the golden files.
enum AnthropicGolden {
    static var recording: Bool { environment("ANTHROPIC_GOLDEN_RECORD") != nil }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    static func names(in directory: String, suffix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw MissingFile(path: path) }
        return [UInt8](data)
    }

    struct MissingFile: Error { var path: String }

    /// Compares as parsed JSON values: exact, key order included, whitespace not.
    static func expectJSON(_ actual: JSONValue, file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if recording {
            try write(pretty(actual) + "\n", to: file)
            return
        }
        let expected = try JSONParser.parse(read(file))
        #expect(actual == expected, "\(file)\nactual: \(actual.jsonText)", sourceLocation: sourceLocation)
    }

    static func expectLines(_ actual: [String], file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if recording {
            try write(actual.joined(separator: "\n") + "\n", to: file)
            return
        }
        let expected = String(decoding: try read(file), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(actual.count == expected.count, "\(file): \(actual.count) outputs, expected \(expected.count)\n\(actual.joined(separator: "\n"))", sourceLocation: sourceLocation)
        for (index, (line, want)) in zip(actual, expected).enumerated() {
            #expect(sameLine(line, want), "\(file) line \(index + 1)\nactual:   \(line)\nexpected: \(want)", sourceLocation: sourceLocation)
        }
    }

    /// `prefix: <json>` lines compare by prefix and parsed JSON.
    static func sameLine(_ actual: String, _ expected: String) -> Bool {
        guard let a = actual.firstIndex(of: " "), let e = expected.firstIndex(of: " ") else { return actual == expected }
        guard actual[..<a] == expected[..<e] else { return false }
        let actualJSON = try? JSONParser.parse(Array(actual[actual.index(after: a)...].utf8))
        let expectedJSON = try? JSONParser.parse(Array(expected[expected.index(after: e)...].utf8))
        if actualJSON == nil || expectedJSON == nil { return actual == expected }
        return actualJSON == expectedJSON
    }

    /// One stream output as one line of an `.expected` file.
    static func line(_ output: StreamOutput) -> String {
        switch output {
        case .chunk(let chunk): "data: " + chunk.jsonText
        case .rawChunk(let text): "data: " + String(decoding: text, as: UTF8.self)
        case .done: "data: [DONE]"
        case .usage(let usage):
            "usage: " + JSONValue.object(JSONObject([
                ("prompt_tokens", .int(usage.promptTokens)), ("completion_tokens", .int(usage.completionTokens)),
                ("cached_tokens", .int(usage.cachedTokens)), ("cache_write_tokens", .int(usage.cacheWriteTokens)),
                ("reasoning_tokens", .int(usage.reasoningTokens)),
            ])).jsonText
        case .error(let error):
            "error: " + JSONValue.object(JSONObject([
                ("status", .int(error.status)), ("retryable", .bool(error.retryable)),
                ("body", (try? JSONParser.parse(Array(error.json.utf8))) ?? .null),
            ])).jsonText
        }
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Indented JSON for golden files people read.
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items) where !items.isEmpty:
            if items.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }) { return value.jsonText }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let object) where !object.isEmpty:
            let fields = object.fields.map { field in
                inner + JSONValue.string(field.key).jsonText + ": " + pretty(field.value, indent: inner)
            }
            return "{\n" + fields.joined(separator: ",\n") + "\n" + indent + "}"
        default:
            return value.jsonText
        }
    }
}
