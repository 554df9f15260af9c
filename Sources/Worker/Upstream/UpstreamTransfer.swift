import Common

/// One HTTP request to a provider, carried out on one of the worker's upstream connections. The pipeline
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
    /// The body of a non-streaming answer, and whatever of a stream arrived before its consumer
    /// took over; the connection parses into it.
    var body: [UInt8] = []
    // Unsafe continuations: a checked one allocates a guard object on every suspension, and
    // each of these is resumed in exactly one place, which clears it first.
    private var headWaiter: UnsafeContinuation<Result<Int, UpstreamFailure>, Never>?
    private var completionWaiter: UnsafeContinuation<Result<[UInt8], UpstreamFailure>, Never>?
    /// Set for streams: receives each piece of the body; returns false to ask for a pause.
    private(set) var onData: (([UInt8]) -> Bool)?
    private(set) var pauseRequested = false
    /// Set by `UpstreamClient.cancel`: the transfer ends on the next loop turn, never from inside
    /// a delivery of its own data.
    var isCancelling = false
    /// The connection carrying it, while it runs.
    var connection: UpstreamConnection?
    /// Sent again once already, after a kept-alive connection turned out closed.
    var wasRetried = false

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
        return await withUnsafeContinuation { continuation in
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
        return await withUnsafeContinuation { continuation in
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

    /// The connection stops reading until the client resumes the transfer.
    func requestPause() { pauseRequested = true }

    /// The client resumed the transfer.
    func clearPauseRequest() { pauseRequested = false }

    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    // MARK: - Called by the connection

    /// The response head arrived: `headers` are kept only for an answer that is not a 2xx.
    func receivedHead(status: Int, headers: [UpstreamRequest.Header]) {
        guard !headReceived else { return }
        self.status = status
        self.headers = headers
        headReceived = true
        if let waiter = headWaiter {
            headWaiter = nil
            waiter.resume(returning: .success(status))
        }
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
