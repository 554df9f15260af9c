// libFuzzer target for HTTPResponseParser (a provider's answer), built by scripts/fuzz-upstream
// together with the parser's own source files (no package, no Foundation).
//
// Each input is read as the bytes of one upstream connection: whole, then in two pieces split at
// a point taken from the first byte, then (when short) one byte at a time, and finally the
// connection closes. The three must give the same head, body, end and error, and every result
// must keep the parser's contract; anything else traps.

private struct Outcome: Equatable {
    var status = 0
    var headers: [UpstreamRequest.Header] = []
    var keepAlive = true
    var body: [UInt8] = []
    var complete = false
    /// Bytes of the input left over after the response ended.
    var leftover = 0
    var error: UpstreamParseError?
}

private func read(_ data: UnsafeRawBufferPointer, cuts: some Sequence<Int>) -> Outcome {
    var parser = HTTPResponseParser(maxHeadBytes: 2048)
    var outcome = Outcome()
    var start = 0
    var headSeen = false
    func receive(upTo available: Int) -> Bool {
        while start < available && !parser.isComplete {
            let window = UnsafeRawBufferPointer(rebasing: data[start..<available])
            do {
                let used = try parser.parse(window, body: &outcome.body)
                precondition(used <= window.count, "consumed more than it was given")
                precondition(used > 0 || parser.isComplete, "no progress")
                start += used
            } catch {
                if case .malformed(let reason) = error { precondition(!reason.isEmpty) }
                outcome.error = error
                return false
            }
            if parser.headComplete && !headSeen {
                headSeen = true
                precondition(parser.status >= 200 && parser.status <= 999, "status out of range")
                precondition(parser.headers.count <= 200)
                precondition((200...299).contains(parser.status) ? parser.headers.isEmpty : true, "a 2xx kept its headers")
            }
            precondition(outcome.body.isEmpty || parser.headComplete, "a body before the head")
        }
        return true
    }
    for cut in cuts where !receive(upTo: cut) { return outcome }
    guard receive(upTo: data.count) else { return outcome }
    outcome.leftover = data.count - start
    if !parser.isComplete {
        do {
            try parser.peerClosed()
        } catch {
            outcome.error = error
        }
    }
    outcome.status = parser.status
    outcome.headers = parser.headers
    outcome.keepAlive = parser.keepAlive
    outcome.complete = parser.isComplete
    precondition(!outcome.complete || outcome.error == nil)
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = read(input, cuts: EmptyCollection())
    let split = size == 0 ? 0 : Int(data[0]) * (size + 1) / 256
    if read(input, cuts: CollectionOfOne(split)) != whole {
        fatalError("whole and split at \(split) differ")
    }
    if size <= 512, read(input, cuts: 1..<max(size, 1)) != whole {
        fatalError("whole and byte-by-byte differ")
    }
    return 0
}
