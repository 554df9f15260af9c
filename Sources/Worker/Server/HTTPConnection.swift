import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// One client connection: reads and parses requests, hands each to the responder, writes the
/// responses in order (pipelined requests wait their turn), and enforces the connection's limits
/// in time and size. Registered edge-triggered for input and output once, for its whole life.
@LoopActor
final class HTTPConnection: EventHandler {
    let fd: Int32
    private unowned let server: HTTPServerContext
    private var parser: HTTPRequestParser
    private var input: [UInt8] = []
    private var inputStart = 0
    private var output: [UInt8] = []
    private var outputStart = 0
    private var exchange: HTTPExchange?
    private var closeAfterWrite = false
    private var isClosed = false
    private var peerClosedInput = false
    private var readPaused = false
    private var lastActivity: UInt64
    private var lastWriteProgress: UInt64
    private var requestStartedAt: UInt64 = 0
    private var requestBytes = 0
    private var responseBytes = 0
    private var isInsideInputLoop = false
    /// Nothing has arrived on this connection yet: a client that has just connected.
    private var isFresh = true

    /// Reading stops while this much response is waiting for the client (pipelining, slow readers).
    private static let outputHighWater = 256 * 1024
    private static let outputLowWater = 64 * 1024
    private static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    init(fd: Int32, server: HTTPServerContext) {
        self.fd = fd
        self.server = server
        parser = HTTPRequestParser(maxHeaderBytes: server.config.maxHeaderBytes, maxBodyBytes: server.config.maxRequestBytes)
        lastActivity = server.loop.now
        lastWriteProgress = server.loop.now
    }

    // MARK: - Events

    func handleEvent(_ events: UInt32) {
        if events & CGL_EPOLLOUT != 0 { flush() }
        if events & (CGL_EPOLLIN | CGL_EPOLLRDHUP | CGL_EPOLLHUP | CGL_EPOLLERR) != 0, !isClosed { readAvailable() }
        if events & CGL_EPOLLERR != 0, !isClosed { close() }
    }

    private func readAvailable() {
        guard !readPaused else { return }
        var gotData = false
        while !isClosed {
            let count = server.scratch.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress, buffer.count)
            }
            if count > 0 {
                gotData = true
                if !parser.hasPartialRequest && inputStart == input.count && exchange == nil {
                    requestStartedAt = server.loop.now
                }
                input.append(contentsOf: server.scratch[0..<count])
                if count < server.scratch.count { break }
                if input.count - inputStart > server.config.maxHeaderBytes + server.config.maxRequestBytes + 65536 {
                    break  // the parser will reject this; stop pulling more first
                }
            } else if count == 0 {
                peerClosedInput = true
                break
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { return close() }
                break
            }
        }
        if gotData {
            lastActivity = server.loop.now
            isFresh = false
        }
        processInput()
        if peerClosedInput && !isClosed { clientEndedInput() }
    }

    /// The client closed its sending side. A request still being answered is abandoned (an HTTP
    /// client that half-closes is almost always gone), and so is a partial request.
    private func clientEndedInput() {
        if let exchange, !exchange.isComplete {
            exchange.cancel()
            close()
        } else if output.count == outputStart {
            close()
        } else {
            closeAfterWrite = true
        }
    }

    // MARK: - Requests

    private func processInput() {
        guard !isInsideInputLoop else { return }
        isInsideInputLoop = true
        defer { isInsideInputLoop = false }
        while !isClosed && !closeAfterWrite && exchange == nil && !readPaused {
            let pending = input.count - inputStart
            if pending == 0 && !parser.hasPartialRequest { break }
            let result: HTTPRequestParser.Result
            do {
                result = try input.withUnsafeBytes { buffer throws(HTTPParseError) in
                    try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[inputStart...]))
                }
            } catch let error as HTTPParseError {
                rejectMalformed(error)
                break
            } catch {
                rejectMalformed(HTTPParseError(status: 400, reason: "The request could not be parsed."))
                break
            }
            switch result {
            case .incomplete(let sendContinue):
                if sendContinue { queue(Self.continueBytes) }
                compactInput()
                return
            case .complete(let request, let consumed):
                inputStart += consumed
                requestBytes = consumed
                dispatch(request)
            }
        }
        compactInput()
    }

    private func dispatch(_ request: HTTPRequest) {
        let started = requestStartedAt == 0 ? server.loop.now : requestStartedAt
        let exchange = HTTPExchange(request: request, startedAt: started, connection: self)
        self.exchange = exchange
        server.stats.gaugeAdd(StatsLayout.SlotWord.inFlight, 1)
        if let responder = server.responder {
            responder.respond(to: exchange)
        } else {
            exchange.send(error: .serviceUnavailable("The worker is starting."))
        }
    }

    private func rejectMalformed(_ error: HTTPParseError) {
        let body = GatewayError.invalidRequest(error.reason, status: error.status).json
        var encoder = encoder(keepAlive: false, http10: false)
        encoder.keepAlive = false
        queue(encoder.encode(.json(error.status, body)))
        server.stats.recordRequest(
            route: .other, status: error.status, micros: elapsedMicros(since: requestStartedAt),
            bytesIn: input.count - inputStart, bytesOut: output.count - outputStart)
        closeAfterWrite = true
        input = []
        inputStart = 0
        flush()
    }

    private func encoder(keepAlive: Bool, http10: Bool) -> HTTPResponseEncoder {
        HTTPResponseEncoder(keepAlive: keepAlive, clientIsHTTP10: http10, date: server.date.current())
    }

    private func responseKeepsAlive(_ exchange: HTTPExchange) -> Bool {
        exchange.request.keepAlive && !server.isDraining && !peerClosedInput
    }

    // MARK: - Responses (called by HTTPExchange)

    func exchangeSent(_ exchange: HTTPExchange, response: HTTPResponse) {
        guard !isClosed, self.exchange === exchange else { return }
        let keepAlive = responseKeepsAlive(exchange)
        let encoder = encoder(keepAlive: keepAlive, http10: exchange.request.version.minor == 0)
        let bytes = encoder.encode(response, headRequest: exchange.request.method == "HEAD")
        responseBytes = bytes.count
        queue(bytes)
        complete(exchange, keepAlive: keepAlive)
    }

    func exchangeStartedStream(
        _ exchange: HTTPExchange, status: Int, headers: [(name: String, value: String)], trailers: [String]
    ) -> HTTPResponseEncoder.Framing? {
        guard !isClosed, self.exchange === exchange else { return nil }
        let encoder = encoder(keepAlive: responseKeepsAlive(exchange), http10: exchange.request.version.minor == 0)
        let framing = encoder.streamFraming(trailers: trailers)
        let head = encoder.head(status: status, headers: headers, framing: framing)
        responseBytes = head.count
        queue(head)
        return framing
    }

    func exchangeWrote(_ bytes: [UInt8], framing: HTTPResponseEncoder.Framing) -> Bool {
        guard !isClosed else { return false }
        let encoder = encoder(keepAlive: true, http10: false)
        let chunk = encoder.chunk(bytes, framing: framing)
        responseBytes += chunk.count
        queue(chunk)
        return output.count - outputStart < Self.outputHighWater
    }

    func exchangeFinishedStream(
        _ exchange: HTTPExchange, trailers: [(name: String, value: String)], framing: HTTPResponseEncoder.Framing
    ) {
        guard !isClosed, self.exchange === exchange else { return }
        let tail = encoder(keepAlive: true, http10: false).end(trailers: trailers, framing: framing)
        responseBytes += tail.count
        queue(tail)
        let keepAlive: Bool
        if case .untilClose = framing { keepAlive = false } else { keepAlive = responseKeepsAlive(exchange) }
        complete(exchange, keepAlive: keepAlive)
    }

    private func complete(_ exchange: HTTPExchange, keepAlive: Bool) {
        server.stats.gaugeAdd(StatsLayout.SlotWord.inFlight, -1)
        server.stats.recordRequest(
            route: exchange.route, status: exchange.status, micros: elapsedMicros(since: exchange.startedAt),
            bytesIn: requestBytes, bytesOut: responseBytes)
        self.exchange = nil
        requestStartedAt = 0
        if !keepAlive { closeAfterWrite = true }
        lastActivity = server.loop.now
        flush()
        // Pipelined requests already buffered are served now; outside the input loop (an answer
        // that came later from the loop) this restarts it.
        if !isClosed && !closeAfterWrite && !isInsideInputLoop {
            server.loop.runSoon { [weak self] in self?.processInput() }
        }
    }

    private func elapsedMicros(since start: UInt64) -> UInt64 {
        let now = cgl_monotonic_ns()
        return start == 0 || now < start ? 0 : (now - start) / 1000
    }

    // MARK: - Writing

    private func queue(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        if output.count == outputStart {
            // Nothing waiting: try the socket first and keep only what it would not take.
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written == bytes.count {
                lastWriteProgress = server.loop.now
                return
            }
            if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                return close()
            }
            let taken = max(written, 0)
            if taken > 0 { lastWriteProgress = server.loop.now }
            output = Array(bytes[taken...])
            outputStart = 0
        } else {
            output.append(contentsOf: bytes)
        }
        if output.count - outputStart >= Self.outputHighWater { readPaused = true }
    }

    private func flush() {
        while !isClosed && outputStart < output.count {
            let written = output.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + outputStart, buffer.count - outputStart, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outputStart += written
                lastWriteProgress = server.loop.now
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                return close()
            }
        }
        if isClosed { return }
        let pending = output.count - outputStart
        if pending == 0 {
            output = []
            outputStart = 0
            if closeAfterWrite { return close() }
        } else if outputStart > 65536 && outputStart * 2 > output.count {
            output.removeFirst(outputStart)
            outputStart = 0
        }
        if pending < Self.outputLowWater {
            if let exchange, let onWritable = exchange.onWritable { onWritable() }
            if readPaused {
                readPaused = false
                // Edge-triggered: bytes that arrived while paused raise no new event.
                server.loop.runSoon { [weak self] in self?.readAvailable() }
            }
        }
    }

    private func compactInput() {
        if inputStart == input.count {
            input = []
            inputStart = 0
        } else if inputStart > 4096 && inputStart * 2 > input.count {
            input.removeFirst(inputStart)
            inputStart = 0
        }
    }

    // MARK: - Deadlines

    /// Closes the connection when the wait it is in has run out. Called by the server's sweep.
    func checkDeadline(now: UInt64) {
        guard !isClosed else { return }
        let config = server.config
        if outputStart < output.count {
            if now > lastWriteProgress + server.sendTimeoutNanos { close() }
            return
        }
        if let exchange {
            // The handler owns its waits; nothing to enforce until it answers.
            _ = exchange
            return
        }
        if parser.hasPartialRequest || inputStart < input.count {
            let limit = parser.headComplete ? lastActivity : requestStartedAt
            if now > limit + config.headerTimeoutNanos { timeOutRequest() }
            return
        }
        // A draining worker closes idle keep-alive connections after a short grace, but a client
        // that has just connected and not yet sent its first request is not idle: it gets the
        // whole header timeout (a reload must not fail a request that is on its way).
        let idleLimit: UInt64
        if !server.isDraining {
            idleLimit = lastActivity + config.keepAliveTimeoutNanos
        } else if isFresh {
            idleLimit = lastActivity + config.headerTimeoutNanos
        } else {
            idleLimit = max(lastActivity, server.drainStartedAt) + server.drainIdleGraceNanos
        }
        if now > idleLimit { close() }
    }

    private func timeOutRequest() {
        let error = GatewayError.invalidRequest(
            "The request was not received in time; send the whole request within \(server.config.headerTimeoutNanos / 1_000_000_000) seconds.",
            code: "request_timeout", status: 408)
        queue(encoder(keepAlive: false, http10: false).encode(.json(408, error.json)))
        server.stats.recordRequest(route: .other, status: 408, micros: elapsedMicros(since: requestStartedAt),
            bytesIn: input.count - inputStart, bytesOut: 0)
        closeAfterWrite = true
        input = []
        inputStart = 0
        flush()
        if !isClosed { close() }
    }

    // MARK: - Closing

    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let exchange, !exchange.isComplete {
            server.stats.gaugeAdd(StatsLayout.SlotWord.inFlight, -1)
            exchange.cancel()
            server.stats.recordRequest(route: exchange.route, status: 499,
                micros: elapsedMicros(since: exchange.startedAt), bytesIn: requestBytes, bytesOut: responseBytes)
        }
        exchange = nil
        server.loop.unregister(fd)
        Glibc.close(fd)
        server.remove(self)
    }

    /// Whether the connection is between requests (a draining worker may close it).
    var isIdle: Bool { exchange == nil && !parser.hasPartialRequest && inputStart == input.count && outputStart == output.count }
}
