// libFuzzer target for HTTPRequestParser, built by scripts/fuzz-http together with the parser's own
// source files (no package, no Foundation).
//
// Each input is parsed as one connection's bytes: whole, then in two pieces split at a point taken
// from the first byte, then (when short) one byte at a time. The three must yield the same requests
// and the same error, and every result must respect the parser's contract; anything else traps.

private let maxHeaderBytes = 1024
private let maxBodyBytes = 4096

private enum Outcome: Equatable {
    case request(HTTPRequest, consumed: Int)
    case error(HTTPParseError)
    case end(partial: Bool)
}

/// Feeds `data` as a connection would receive it: the bytes up to each cut arrive together. The
/// parser always sees the bytes from the first unconsumed one to the last received one.
private func outcomes(_ data: UnsafeRawBufferPointer, cuts: some Sequence<Int>) -> [Outcome] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    var result: [Outcome] = []
    var start = 0
    var continueSent = false
    func receive(upTo available: Int) -> Bool {
        while start < available {
            let window = UnsafeRawBufferPointer(rebasing: data[start..<available])
            let parsed: HTTPRequestParser.Result
            do {
                parsed = try parser.parse(window)
            } catch {
                precondition([400, 413, 431, 501, 505].contains(error.status), "unexpected status")
                precondition(!error.reason.isEmpty)
                result.append(.error(error))
                return false
            }
            switch parsed {
            case .incomplete(let sendContinue):
                if sendContinue {
                    precondition(!continueSent, "100-continue signalled twice for one request")
                    precondition(parser.headComplete && parser.hasPartialRequest)
                    continueSent = true
                }
                return true
            case .complete(let request, let consumed):
                precondition(consumed > 0 && consumed <= available - start, "consumed out of range")
                precondition(!parser.hasPartialRequest && !parser.headComplete, "parser not reset")
                precondition(request.version == .http1_1 || request.version == .http1_0)
                precondition(request.body.count <= maxBodyBytes)
                precondition(!request.method.isEmpty && !request.target.isEmpty && !request.path.isEmpty)
                precondition(request.headers.fields.count <= 100)
                result.append(.request(request, consumed: consumed))
                start += consumed
                continueSent = false
            }
        }
        return true
    }
    for cut in cuts where !receive(upTo: cut) {
        return result
    }
    if receive(upTo: data.count) {
        result.append(.end(partial: parser.hasPartialRequest))
    }
    return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = outcomes(input, cuts: EmptyCollection())
    let split = size == 0 ? 0 : Int(data[0]) * (size + 1) / 256
    let twoPieces = outcomes(input, cuts: CollectionOfOne(split))
    if twoPieces != whole {
        fatalError("whole and split at \(split) differ: \(whole.count) vs \(twoPieces.count) outcomes")
    }
    if size <= 512 {
        let trickled = outcomes(input, cuts: 1..<max(size, 1))
        if trickled != whole {
            fatalError("whole and byte-by-byte differ: \(whole.count) vs \(trickled.count) outcomes")
        }
    }
    return 0
}
