import Common

// libFuzzer target for the Gemini translator (built by scripts/fuzz-gemini-stream, no Foundation).
//
// Each input is fed to the stream translator whole and again split in two at a point taken from
// its first byte; the two runs must give the same outputs, end in exactly one terminal output
// (`.done` or `.error`) with nothing after it, and never crash. The same bytes also go through
// translateResponse and translateError, and, when they parse as a chat request, makeRequest.

@_cdecl("LLVMFuzzerTestOneInput")
public func geminiStreamFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let provider = GeminiProvider()
    let includeUsage = size > 1 && input[1] & 1 == 1
    let context = TranslationContext(requestID: "req_fuzz", model: "gemini-2.5-flash", created: 1_760_000_000, includeUsage: includeUsage)

    func run(_ pieces: [ArraySlice<UInt8>]) -> [StreamOutput] {
        var translator = provider.makeStreamTranslator(context: context)
        var outputs: [StreamOutput] = []
        for piece in pieces { outputs += translator.consume(Array(piece)) }
        outputs += translator.finish()
        return outputs
    }

    let whole = run([input[...]])
    let split = size == 0 ? 0 : size * Int(input[0]) / 255
    let pieces = run([input[..<split], input[split...]])
    if whole != pieces { fatalError("outputs differ when the input is split at byte \(split) of \(size)") }

    var terminals = 0
    for (index, output) in whole.enumerated() {
        switch output {
        case .done, .error:
            terminals += 1
            if index != whole.count - 1 { fatalError("output after the terminal one") }
        case .chunk(let chunk):
            if chunk["object"] != "chat.completion.chunk" { fatalError("a chunk without its object type") }
        case .usage: break
        case .rawChunk: fatalError("the Gemini translator builds its chunks")
        }
    }
    if terminals != 1 { fatalError("\(terminals) terminal outputs") }

    do {
        let answer = try provider.translateResponse(input, context: context)
        if answer.body["object"] != "chat.completion" { fatalError("an answer without its object type") }
    } catch {
        if !(400...599).contains(error.status) { fatalError("a response error with status \(error.status)") }
    }
    let status = size > 2 ? 400 + Int(input[2]) % 200 : 500
    let error = provider.translateError(status: status, headers: [], body: input)
    if !(400...599).contains(error.status) || error.message.isEmpty { fatalError("a bad error translation") }

    if let request = try? ChatRequest.parse(input) {
        let credentials = ProviderCredentials(apiKey: "fuzz-key", baseURL: "https://generativelanguage.googleapis.com")
        if let upstream = try? provider.makeRequest(request, model: "gemini-3-flash-preview", stream: request.stream, credentials: credentials) {
            if (try? JSONParser.parse(upstream.body)) == nil { fatalError("makeRequest built a body that is not JSON") }
        }
    }
    return 0
}
