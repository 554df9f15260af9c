import CCurl
import Common

/// One HTTP request to a provider, carried out by libcurl on the worker's loop. The pipeline
/// awaits its response head, then either collects the body or takes it piece by piece (streams),
/// pausing the transfer while the client is slower than the provider.
@LoopActor
final class UpstreamTransfer {
    let request: UpstreamRequest
    private(set) var status = 0
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
    var pauseRequested = false
    /// Set by `UpstreamClient.cancel`: the transfer ends on the next loop turn, never from inside
    /// one of libcurl's callbacks; meanwhile its callbacks refuse more data.
    var isCancelling = false
    var isPaused = false
    /// Owned by the client while the transfer runs.
    var easy: UnsafeMutableRawPointer?
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
            if !handler(early) { pauseRequested = true }
        }
    }

    func stopStreaming() { onData = nil }

    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    // MARK: - Called by the client from libcurl's callbacks

    func receivedHeaderLine(_ line: String) {
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers.removeAll()
        } else if line == "\r\n" || line == "\n" {
            if status >= 200 && !headReceived {
                headReceived = true
                headWaiter?.resume(returning: .success(status))
                headWaiter = nil
            }
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters()
            if headers.count < 200 { headers.append(.init(name, value)) }
        }
    }

    /// Returns false when the body must stop (too large for a non-streaming answer).
    func receivedBody(_ bytes: [UInt8]) -> Bool {
        if let onData {
            if !onData(bytes) { pauseRequested = true }
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

extension Substring {
    /// The text without surrounding spaces, tabs, CR and LF (scalar by scalar: "\r\n" is one
    /// Character in Swift, so a Character-based trim would miss it).
    func trimmingCharacters() -> String {
        var scalars = unicodeScalars[...]
        let space: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        while let first = scalars.first, space(first) { scalars.removeFirst() }
        while let last = scalars.last, space(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
