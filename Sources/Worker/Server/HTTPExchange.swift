import Common

/// One request and the response being made for it. Handlers answer through it, synchronously
/// (`send`) or later from the loop (`send`, or `startStream`/`write`/`finish` for streams). Once
/// complete, the connection moves on to the next request.
@LoopActor
final class HTTPExchange {
    let request: HTTPRequest
    /// The route the request is counted under in `/metrics`; set by the router.
    var route: Metric.Route = .other
    /// When the request's first byte arrived (monotonic nanoseconds).
    let startedAt: UInt64
    private(set) var status = 0
    private(set) var isComplete = false
    private(set) var isCancelled = false
    private(set) var framing: HTTPResponseEncoder.Framing?
    /// Called once if the client goes away before the response completes.
    var onCancel: (() -> Void)?
    /// Called when a stream's buffered output has drained below the low-water mark.
    var onWritable: (() -> Void)?
    private weak var connection: HTTPConnection?

    init(request: HTTPRequest, startedAt: UInt64, connection: HTTPConnection) {
        self.request = request
        self.startedAt = startedAt
        self.connection = connection
    }

    /// Sends a whole response and completes the exchange.
    func send(_ response: HTTPResponse) {
        guard !isComplete, !isCancelled, let connection else { return }
        status = response.status
        isComplete = true
        connection.exchangeSent(self, response: response)
    }

    func send(error: GatewayError, headers: [(name: String, value: String)] = []) {
        send(.json(error.status, error.json, headers: headers))
    }

    /// Sends the head of a streamed response. `trailers` names the trailer fields `finish` will send.
    func startStream(status: Int, headers: [(name: String, value: String)], trailers: [String] = []) {
        guard !isComplete, !isCancelled, framing == nil, let connection else { return }
        self.status = status
        framing = connection.exchangeStartedStream(self, status: status, headers: headers, trailers: trailers)
    }

    /// Queues part of a stream body. Returns false when the client is slower than the stream: the
    /// caller should stop producing until `onWritable` is called.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard !isComplete, !isCancelled, let framing, let connection else { return false }
        return connection.exchangeWrote(bytes, framing: framing)
    }

    /// Ends a streamed response with its trailer fields.
    func finish(trailers: [(name: String, value: String)] = []) {
        guard !isComplete, !isCancelled, let framing, let connection else { return }
        isComplete = true
        connection.exchangeFinishedStream(self, trailers: trailers, framing: framing)
    }

    /// Whether the client can still receive this response.
    var isWritable: Bool { !isComplete && !isCancelled && connection != nil }

    func cancel() {
        guard !isComplete, !isCancelled else { return }
        isCancelled = true
        let action = onCancel
        onCancel = nil
        onWritable = nil
        action?()
    }
}
