import Common

// libFuzzer target for what reads OpenAI's answers before passing them on unchanged (built by
// scripts/fuzz-openai-passthrough, no Foundation).
//
// The skipping parser must accept exactly what the full parser accepts and read the same members:
// each input is parsed whole and also wrapped as the value of a skipped and of a kept member.
// The same bytes then go through translateResponse (a pass-through answer keeps every byte) and,
// whole and split at a point taken from the first byte, through the stream translator, whose two
// runs must agree and end in one terminal output.

@_cdecl("LLVMFuzzerTestOneInput")
public func openAIPassthroughFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    let full = try? JSONParser.parse(input)
    if case .object = full {
        let members = try? JSONParser.parseMembers(input, keep: ["usage"], kindsOf: ["choices"])
        guard let members else { fatalError("parseMembers refused an object parse accepted") }
        if members.kept["usage"] != full?["usage"] { fatalError("the kept member differs") }
    } else if full == nil, input.first == UInt8(ascii: "{"),
        (try? JSONParser.parseMembers(input, keep: [])) != nil
    {
        fatalError("parseMembers accepted an object parse refused")
    }
    for key in ["skipped", "kept"] {
        let wrapped = Array("{\"\(key)\":".utf8) + input + [UInt8(ascii: "}")]
        let whole = try? JSONParser.parse(wrapped)
        let members = try? JSONParser.parseMembers(wrapped, keep: ["kept"])
        if (whole == nil) != (members == nil) { fatalError("parse and parseMembers disagree (\(key))") }
        if let whole, let members, members.kept["kept"] != whole["kept"] { fatalError("kept value differs") }
    }

    let context = TranslationContext(requestID: "req_fuzz", model: "gpt-4o", created: 1, includeUsage: size > 1 && input[1] & 1 == 1)
    if let answer = try? OpenAIProvider().translateResponse(input, context: context), answer.bytes != input {
        fatalError("a passed-through answer changed")
    }

    func run(_ pieces: [ArraySlice<UInt8>]) -> [StreamOutput] {
        var translator = OpenAIStreamTranslator(context: context)
        var outputs: [StreamOutput] = []
        for piece in pieces { outputs += translator.consume(Array(piece)) }
        outputs += translator.finish()
        return outputs
    }
    let whole = run([input[...]])
    let split = size == 0 ? 0 : size * Int(input[0]) / 255
    if whole != run([input[..<split], input[split...]]) { fatalError("outputs differ when split at \(split)") }
    for (index, output) in whole.enumerated() {
        switch output {
        case .done, .error: if index != whole.count - 1 { fatalError("output after the terminal one") }
        case .rawChunk(let text): if (try? JSONParser.parse(text)) == nil { fatalError("an invalid chunk passed on") }
        case .chunk, .usage: break
        }
    }
    if whole.last.map({ if case .done = $0 { false } else if case .error = $0 { false } else { true } }) ?? true {
        fatalError("a stream ended without .done or .error")
    }
    return 0
}
