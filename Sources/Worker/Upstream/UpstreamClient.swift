import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// The worker's HTTP/1.1 client for provider calls, on its event loop: it keeps connections to
/// each provider open and reuses the most recently used one, writes a request in one call,
/// and reads the answer straight into its transfer. TLS peers are verified (TLSClientContext).
/// Nothing here blocks the loop; host names are looked up on a thread (HostResolver).
///
/// Written for the gateway's one kind of call (a POST with a known length, to a few origins) in
/// place of a general client: per request it makes two system calls and a handful of
/// allocations, where libcurl's transfer setup, URL parsing, header matching and connection
/// checks cost about a quarter of a worker's CPU per request.
@LoopActor
final class UpstreamClient {
    let loop: EventLoop
    let headTimeoutNanos: UInt64
    let idleTimeoutNanos: UInt64
    /// Made on the first https call (loading the trusted authorities takes a few milliseconds).
    private(set) var tls: TLSClientContext?
    private var tlsError: UpstreamFailure?
    private let resolver: HostResolver
    /// Transfers in flight, for their deadlines.
    private var transfers: [ObjectIdentifier: UpstreamTransfer] = [:]
    /// Idle connections by origin, most recently used last.
    private var idle: [String: [UpstreamConnection]] = [:]
    private var idleCount = 0
    /// Connections that answered a request are kept for the next; beyond this many the oldest
    /// one of the origin in hand is closed.
    private let maxIdleConnections = 512
    /// An idle connection unused this long is closed (providers drop theirs after a minute or so).
    private let maxIdleNanos: UInt64 = 50_000_000_000
    /// Parsed request URLs: each provider asks for the same few.
    private var urls: [String: UpstreamURL] = [:]
    /// Where every connection reads into; reads are handled before the next one starts.
    let scratch: UnsafeMutableRawBufferPointer

    init(loop: EventLoop, headTimeoutNanos: UInt64, idleTimeoutNanos: UInt64) {
        self.loop = loop
        self.headTimeoutNanos = headTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        resolver = HostResolver(loop: loop)
        scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
        loop.every(100_000_000) { [unowned self] in self.enforceDeadlines() }
        loop.every(1_000_000_000) { [unowned self] in self.closeStaleIdleConnections() }
    }

    /// Starts `request`; the returned transfer reports its head, body and end.
    func start(_ request: UpstreamRequest, headTimeoutNanos: UInt64? = nil, maxBodyBytes: Int = 64 << 20) -> UpstreamTransfer {
        let transfer = UpstreamTransfer(
            request: request, now: loop.now, headTimeoutNanos: headTimeoutNanos ?? self.headTimeoutNanos,
            idleTimeoutNanos: idleTimeoutNanos, maxBodyBytes: maxBodyBytes)
        transfers[ObjectIdentifier(transfer)] = transfer
        send(transfer, reuse: true)
        return transfer
    }

    private func send(_ transfer: UpstreamTransfer, reuse: Bool) {
        guard let url = url(transfer.request.url) else {
            return end(transfer, failure: .connection("the provider URL is not valid"))
        }
        if url.isTLS && tls == nil {
            if let tlsError { return end(transfer, failure: tlsError) }
            do throws(UpstreamFailure) {
                tls = try TLSClientContext()
            } catch {
                tlsError = error
                return end(transfer, failure: error)
            }
        }
        let bytes = Self.encode(transfer.request, url: url)
        if reuse, let connection = takeIdle(url.origin) {
            return connection.send(bytes, for: transfer)
        }
        let connection = UpstreamConnection(url: url, client: self)
        connection.send(bytes, for: transfer)
        resolver.resolve(url.host, port: url.port) { result in
            switch result {
            case .success(let addresses): connection.connect(to: addresses)
            case .failure(let failure): self.connectionFailed(connection, transfer: connection.transfer, failure: failure, staleConnection: false)
            }
        }
    }

    private func url(_ string: String) -> UpstreamURL? {
        if let url = urls[string] { return url }
        guard let url = UpstreamURL(string) else { return nil }
        if urls.count >= 256 { urls.removeAll() }
        urls[string] = url
        return url
    }

    /// The request as it goes on the wire: request line, Host, Content-Length, the provider's
    /// headers, the body.
    static func encode(_ request: UpstreamRequest, url: UpstreamURL) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + url.target.utf8.count + request.body.count)
        bytes.append(contentsOf: "POST ".utf8)
        bytes.append(contentsOf: url.target.utf8)
        bytes.append(contentsOf: " HTTP/1.1\r\nHost: ".utf8)
        bytes.append(contentsOf: url.authority.utf8)
        bytes.append(contentsOf: "\r\nContent-Length: ".utf8)
        bytes.append(contentsOf: String(request.body.count).utf8)
        bytes.append(contentsOf: "\r\n".utf8)
        var hasAgent = false
        for header in request.headers {
            bytes.append(contentsOf: header.name.utf8)
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: header.value.utf8)
            bytes.append(contentsOf: "\r\n".utf8)
            if !hasAgent && header.name.utf8.count == 10 && header.name.lowercased() == "user-agent" { hasAgent = true }
        }
        if !hasAgent { bytes.append(contentsOf: "User-Agent: llm0-gateway\r\n".utf8) }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: request.body)
        return bytes
    }

    /// Stops a transfer at once (the client went away); its connection is closed, not reused.
    func cancel(_ transfer: UpstreamTransfer) {
        guard !transfer.isComplete, !transfer.isCancelling else { return }
        // A cancel can come from inside the delivery of the transfer's own data; closing its
        // connection there would pull the buffer from under the read in progress.
        transfer.isCancelling = true
        loop.runSoon { [weak self] in
            guard let self, !transfer.isComplete else { return }
            self.end(transfer, failure: .cancelled)
        }
    }

    /// Lets a paused stream flow again.
    func resume(_ transfer: UpstreamTransfer) {
        guard transfer.pauseRequested else { return }
        transfer.clearPauseRequest()
        // Data may be waiting in the socket with no new edge to announce it.
        loop.runSoon {
            guard !transfer.isComplete, !transfer.isCancelling else { return }
            transfer.connection?.resumeReading()
        }
    }

    // MARK: - Called by connections

    /// A response was read in full.
    func responseEnded(_ transfer: UpstreamTransfer, on connection: UpstreamConnection, reusable: Bool) {
        if reusable {
            park(connection)
        } else {
            connection.close()
        }
        transfers[ObjectIdentifier(transfer)] = nil
        transfer.finish(transfer.isCancelling ? .cancelled : nil)
    }

    /// A connection failed (and is closed). A request that got no answer on a reused
    /// connection is sent once more on a new one: the provider had closed the idle connection
    /// as the request went out, before reading it.
    func connectionFailed(_ connection: UpstreamConnection, transfer: UpstreamTransfer?, failure: UpstreamFailure, staleConnection: Bool) {
        connection.close()
        guard let transfer, !transfer.isComplete else { return }
        if staleConnection && !transfer.wasRetried && !transfer.isCancelling {
            transfer.wasRetried = true
            return send(transfer, reuse: false)
        }
        end(transfer, failure: failure)
    }

    /// An idle connection was closed by the provider (or sent something unasked).
    func idleConnectionEnded(_ connection: UpstreamConnection) {
        if var list = idle[connection.url.origin], let index = list.firstIndex(where: { $0 === connection }) {
            list.remove(at: index)
            idle[connection.url.origin] = list
            idleCount -= 1
        }
        connection.close()
    }

    // MARK: - The pool

    private func takeIdle(_ origin: String) -> UpstreamConnection? {
        guard idleCount > 0, let connection = idle[origin]?.popLast() else { return nil }
        idleCount -= 1
        return connection
    }

    private func park(_ connection: UpstreamConnection) {
        connection.idleSince = loop.now
        idle[connection.url.origin, default: []].append(connection)
        idleCount += 1
        if idleCount > maxIdleConnections, let oldest = idle[connection.url.origin]?.first {
            idleConnectionEnded(oldest)
        }
    }

    private func closeStaleIdleConnections() {
        guard idleCount > 0 else { return }
        let cutoff = loop.now > maxIdleNanos ? loop.now - maxIdleNanos : 0
        for (origin, list) in idle {
            // Oldest first: the stale ones are a prefix.
            let stale = list.prefix { $0.idleSince < cutoff }
            guard !stale.isEmpty else { continue }
            for connection in stale { connection.close() }
            idle[origin] = Array(list.dropFirst(stale.count))
            idleCount -= stale.count
        }
    }

    // MARK: - Ending transfers

    private func end(_ transfer: UpstreamTransfer, failure: UpstreamFailure?) {
        transfer.connection?.abandon()
        transfers[ObjectIdentifier(transfer)] = nil
        transfer.finish(transfer.isCancelling ? .cancelled : failure)
    }

    private func enforceDeadlines() {
        let now = loop.now
        var expired: [(UpstreamTransfer, UpstreamFailure)] = []
        for transfer in transfers.values {
            if !transfer.headReceived && now > transfer.headDeadline {
                expired.append((transfer, .timeout))
            } else if transfer.headReceived && !transfer.pauseRequested && now > transfer.lastActivity + transfer.idleTimeoutNanos {
                expired.append((transfer, .idleTimeout))
            }
        }
        for (transfer, failure) in expired { end(transfer, failure: failure) }
    }
}
