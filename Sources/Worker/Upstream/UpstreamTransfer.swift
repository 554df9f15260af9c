import CCurl
import Common

/// One HTTP request to a provider, carried out by libcurl on the worker's loop. The pipeline
/// awaits its response head, then either collects the body or takes it piece by piece (streams),
/// pausing the transfer while the client is slower than the provider.
@LoopActor
final class UpstreamTransfer {
    let request: UpstreamRequest
    private(set) var status = 0
    /// The response headers of a non-2xx answer (a 2xx answer's are not kept).
    private(set) var headers: [UpstreamRequest.Header] = []
    private(set) var headReceived = false
    private(set) var failure: UpstreamFailure?
    private(set) var isComplete = false
    var lastActivity: UInt64
    let headDeadline: UInt64
    let idleTimeoutNanos: UInt64
    /// A non-streaming body larger than this fails the transfer.
    let maxBodyBytes: Int
    private var body: [UInt8] = []
    private var headWaiter: CheckedContinuation<Result<Int, UpstreamFailure>, Never>?
    private var completionWaiter: CheckedContinuation<Result<[UInt8], UpstreamFailure>, Never>?
    /// Set for streams: receives each piece of the body; returns false to ask for a pause.
    private(set) var onData: (([UInt8]) -> Bool)?
    private(set) var pauseRequested = false
    /// The client carrying the transfer; told when a pause is asked for.
    weak var client: UpstreamClient?
    /// Set by `UpstreamClient.cancel`: the transfer ends on the next loop turn, never from inside
    /// one of libcurl's callbacks; meanwhile its callbacks refuse more data.
    var isCancelling = false
    var isPaused = false
    /// Owned by the client while the transfer runs.
    var easy: UnsafeMutableRawPointer?
    /// A header list of its own, freed with it (nil when the client's shared list is used).
    var headerList: UnsafeMutablePointer<curl_slist>?

    init(request: UpstreamRequest, now: UInt64, headTimeoutNanos: UInt64, idleTimeoutNanos: UInt64, maxBodyBytes: Int) {
        self.request = request
        lastActivity = now
        headDeadline = now + headTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        self.maxBodyBytes = maxBodyBytes
    }

    /// Waits for the response head; returns the status.
    func responseHead() async -> Result<Int, UpstreamFailure> {
        if headReceived { return .success(status) }
        if let failure { return .failure(failure) }
        return await withCheckedContinuation { continuation in
            // The head (or the end) may have arrived while this task was entering here.
            if headReceived {
                continuation.resume(returning: .success(status))
            } else if isComplete {
                continuation.resume(returning: failure.map { .failure($0) } ?? .success(status))
            } else {
                headWaiter = continuation
            }
        }
    }

    /// Waits for the transfer to end. For a non-streaming transfer the result holds the body.
    func completion() async -> Result<[UInt8], UpstreamFailure> {
        if isComplete { return failure.map { .failure($0) } ?? .success(body) }
        return await withCheckedContinuation { continuation in
            if isComplete {
                continuation.resume(returning: failure.map { .failure($0) } ?? .success(body))
            } else {
                completionWaiter = continuation
            }
        }
    }

    /// Takes the body piece by piece from now on, starting with whatever arrived already (the
    /// first bytes often come with the head, before the pipeline is back to take them).
    func stream(to handler: @escaping ([UInt8]) -> Bool) {
        onData = handler
        if !body.isEmpty {
            let early = body
            body = []
            if !handler(early) { requestPause() }
        }
    }

    func stopStreaming() { onData = nil }

    private func requestPause() {
        guard !pauseRequested else { return }
        pauseRequested = true
        client?.pauseSoon(self)
    }

    /// The client resumed the transfer.
    func clearPauseRequest() { pauseRequested = false }

    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    // MARK: - Called by the client from libcurl's callbacks

    /// One line of the response head as libcurl hands it over (CRLF included). Read as bytes:
    /// it runs for every header of every response.
    func receivedHeaderLine(_ line: UnsafeRawBufferPointer) {
        let bytes = line.trimmed()
        // The first byte rules out nearly every field line before the generic prefix test.
        if bytes.first == UInt8(ascii: "H") && bytes.starts(with: "HTTP/".utf8) {
            // "HTTP/1.1 200 OK": the status is the digits after the first space.
            var value = 0
            if let space = bytes.firstIndex(of: 0x20) {
                for byte in bytes[(space + 1)...].prefix(3) where byte >= 0x30 && byte <= 0x39 {
                    value = value * 10 + Int(byte - 0x30)
                }
            }
            status = value
            headers.removeAll()
        } else if bytes.isEmpty {
            if status >= 200 && !headReceived {
                headReceived = true
                headWaiter?.resume(returning: .success(status))
                headWaiter = nil
            }
        } else if !(200...299).contains(status), let colon = bytes.firstIndex(of: 0x3A), headers.count < 200 {
            // Only an error answer's headers are read (Retry-After, the provider's error
            // details); a success's are not kept, sparing their strings on every request.
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<colon]), as: UTF8.self)
            let value = UnsafeRawBufferPointer(rebasing: bytes[(colon + 1)...]).trimmed()
            headers.append(.init(name, String(decoding: value, as: UTF8.self)))
        }
    }

    /// Returns false when the body must stop (too large for a non-streaming answer). `bytes`
    /// is libcurl's buffer, valid only during the call: a collected body is appended straight
    /// from it; a stream's consumer gets its own copy.
    func receivedBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let onData {
            if !onData(Array(bytes)) { requestPause() }
            return true
        }
        if body.count + bytes.count > maxBodyBytes {
            failure = .tooLarge
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    func finish(_ failure: UpstreamFailure?) {
        guard !isComplete else { return }
        isComplete = true
        if self.failure == nil { self.failure = failure }
        if let waiter = headWaiter {
            headWaiter = nil
            waiter.resume(returning: self.failure.map { .failure($0) } ?? .success(status))
        }
        if let waiter = completionWaiter {
            completionWaiter = nil
            waiter.resume(returning: self.failure.map { .failure($0) } ?? .success(body))
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes without surrounding spaces, tabs, CR and LF.
    func trimmed() -> Slice<UnsafeRawBufferPointer> {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isHTTPWhitespace { start += 1 }
        while end > start, self[end - 1].isHTTPWhitespace { end -= 1 }
        return self[start..<end]
    }
}

extension Slice<UnsafeRawBufferPointer> {
    func trimmed() -> Slice<UnsafeRawBufferPointer> { UnsafeRawBufferPointer(rebasing: self).trimmed() }
}

extension UInt8 {
    /// Space, tab, CR or LF.
    var isHTTPWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0D || self == 0x0A }
}
