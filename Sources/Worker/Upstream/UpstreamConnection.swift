import CGatewayLinux
import COpenSSL
import Common

#if canImport(Glibc)
import Glibc
#endif

/// One connection to a provider, plain or TLS, carrying one request at a time and kept open
/// between them. Registered edge-triggered for input and output once, for its whole life, so
/// taking it from the pool or returning it costs no epoll call. Reads the response as it comes,
/// hands the head and the body to the transfer, and stops reading while a stream's consumer
/// is paused.
@LoopActor
final class UpstreamConnection: EventHandler {
    private enum Phase { case resolving, connecting, handshaking, open, closed }

    private(set) var fd: Int32 = -1
    let url: UpstreamURL
    private unowned let client: UpstreamClient
    private var phase = Phase.resolving
    private var ssl: OpaquePointer?
    private var addresses: [SocketAddress] = []
    private var addressIndex = 0
    private(set) var transfer: UpstreamTransfer?
    private var parser = HTTPResponseParser()
    private var headDelivered = false
    private var output: [UInt8] = []
    private var outputStart = 0
    /// Requests this connection answered in full: a reused connection may have been closed by
    /// the provider while idle, and a request that got nothing back on it may be sent again.
    private(set) var requestsServed = 0
    private var receivedBytes = false
    /// The provider has closed its side (or the socket failed): reads go on to the end.
    private var peerIsClosing = false
    /// When it last went back to the pool.
    var idleSince: UInt64 = 0

    init(url: UpstreamURL, client: UpstreamClient) {
        self.url = url
        self.client = client
    }

    // MARK: - Connecting

    /// Starts connecting to the first of `addresses` that takes the connection.
    func connect(to addresses: [SocketAddress]) {
        guard phase == .resolving else { return }
        self.addresses = addresses
        addressIndex = 0
        connectNext()
    }

    private func connectNext() {
        while addressIndex < addresses.count {
            var address = addresses[addressIndex]
            addressIndex += 1
            closeSocket()
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            fd = socket(address.family, type, 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            do {
                try client.loop.register(fd, events: CGL_EPOLLIN | CGL_EPOLLOUT | CGL_EPOLLRDHUP | CGL_EPOLLET, handler: self)
            } catch {
                continue
            }
            let result = withUnsafePointer(to: &address.storage) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
            }
            if result == 0 { return connected() }
            if errno == EINPROGRESS {
                phase = .connecting
                return
            }
        }
        fail(.connection("connection refused"), mayRetry: false)
    }

    private func connected() {
        if url.isTLS {
            guard let tls = client.tls, let session = tls.session(fd: fd, host: url.host) else {
                return fail(.connection("TLS could not be set up"), mayRetry: false)
            }
            ssl = session
            phase = .handshaking
            handshake()
        } else {
            phase = .open
            flush()
        }
    }

    private func handshake() {
        guard let ssl else { return }
        let result = SSL_connect(ssl)
        if result == 1 {
            phase = .open
            return flush()
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
        let verify = SSL_get_verify_result(ssl)
        let reason = verify != X509_V_OK
            ? "TLS handshake failed: " + String(cString: X509_verify_cert_error_string(verify))
            : "TLS handshake failed: " + TLSClientContext.lastError()
        ERR_clear_error()
        fail(.connection(reason), mayRetry: false)
    }

    // MARK: - Requests

    /// Sends `request` (head and body, encoded) for `transfer`.
    func send(_ request: [UInt8], for transfer: UpstreamTransfer) {
        self.transfer = transfer
        transfer.connection = self
        parser = HTTPResponseParser()
        headDelivered = false
        receivedBytes = false
        output = request
        outputStart = 0
        if phase == .open { flush() }
    }

    /// Lets go of the transfer without finishing it, and closes: the transfer ended early
    /// (timeout, cancel), so what is left of its response must not reach the next request.
    func abandon() {
        transfer?.connection = nil
        transfer = nil
        close()
    }

    /// A stream's consumer is ready for more.
    func resumeReading() {
        if phase == .open, transfer != nil { readAvailable() }
    }

    // MARK: - Events

    func handleEvent(_ events: UInt32) {
        switch phase {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 && events & (CGL_EPOLLOUT | CGL_EPOLLIN) != 0 {
                connected()
            } else if error != 0 || events & (CGL_EPOLLERR | CGL_EPOLLHUP) != 0 {
                connectNext()
            }
        case .handshaking:
            handshake()
        case .open:
            guard transfer != nil else {
                // Idle in the pool: the provider closed it, or sent what nobody asked for.
                if events & (CGL_EPOLLIN | CGL_EPOLLRDHUP | CGL_EPOLLHUP | CGL_EPOLLERR) != 0 { client.idleConnectionEnded(self) }
                return
            }
            if outputStart < output.count { flush() }
            if events & (CGL_EPOLLRDHUP | CGL_EPOLLHUP | CGL_EPOLLERR) != 0 { peerIsClosing = true }
            if events & (CGL_EPOLLIN | CGL_EPOLLRDHUP | CGL_EPOLLHUP | CGL_EPOLLERR) != 0 { readAvailable() }
        case .resolving, .closed:
            break
        }
    }

    private func flush() {
        while outputStart < output.count, phase == .open {
            let count = output.withUnsafeBytes { buffer in
                write(UnsafeRawBufferPointer(rebasing: buffer[outputStart...]))
            }
            switch count {
            case .done(let written):
                outputStart += written
            case .wouldBlock:
                return
            case .closed, .failed:
                return fail(.connection("connection reset"), mayRetry: true)
            }
        }
        if outputStart == output.count && !output.isEmpty {
            output = []
            outputStart = 0
        }
    }

    private func readAvailable() {
        let scratch = client.scratch
        while let transfer, !transfer.pauseRequested, phase == .open {
            switch read(into: scratch) {
            case .done(let count):
                receivedBytes = true
                transfer.lastActivity = client.loop.now
                guard received(UnsafeRawBufferPointer(rebasing: scratch[..<count]), for: transfer) else { return }
                // A short plain read emptied the socket: the next bytes raise a new edge. Not so
                // for a close that came with them (its edge is spent), nor for TLS, which may
                // hold more decrypted bytes than one read returns.
                if count < scratch.count && ssl == nil && !peerIsClosing { return }
            case .wouldBlock:
                return
            case .closed:
                do throws(UpstreamParseError) {
                    try parser.peerClosed()
                    finishResponse(reusable: false)
                } catch {
                    fail(Self.failure(for: error), mayRetry: error == .closedBeforeResponse)
                }
                return
            case .failed:
                return fail(.connection("connection reset"), mayRetry: !receivedBytes)
            }
        }
    }

    /// Feeds one read to the parser; false once the response is over (or failed).
    private func received(_ bytes: UnsafeRawBufferPointer, for transfer: UpstreamTransfer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            do throws(UpstreamParseError) {
                if let onData = transfer.onData {
                    var piece: [UInt8] = []
                    offset += try parser.parse(rest, body: &piece)
                    if !piece.isEmpty && !onData(piece) { transfer.requestPause() }
                } else {
                    offset += try parser.parse(rest, body: &transfer.body)
                    if transfer.body.count > transfer.maxBodyBytes {
                        fail(.tooLarge, mayRetry: false)
                        return false
                    }
                }
            } catch {
                fail(Self.failure(for: error), mayRetry: false)
                return false
            }
            if parser.headComplete && !headDelivered {
                headDelivered = true
                transfer.receivedHead(status: parser.status, headers: parser.headers)
            }
            if parser.isComplete {
                // Bytes after the end of a response belong to no request: the connection is
                // not trusted with another.
                finishResponse(reusable: parser.keepAlive && offset == bytes.count)
                return false
            }
            if self.transfer !== transfer { return false }
        }
        return true
    }

    private func finishResponse(reusable: Bool) {
        guard let transfer else { return }
        self.transfer = nil
        transfer.connection = nil
        requestsServed += 1
        client.responseEnded(transfer, on: self, reusable: reusable && phase == .open && outputStart == output.count)
    }

    private func fail(_ failure: UpstreamFailure, mayRetry: Bool) {
        let transfer = self.transfer
        self.transfer = nil
        transfer?.connection = nil
        let stale = mayRetry && requestsServed > 0 && !receivedBytes
        close()
        client.connectionFailed(self, transfer: transfer, failure: failure, staleConnection: stale)
    }

    private static func failure(for error: UpstreamParseError) -> UpstreamFailure {
        switch error {
        case .closedBeforeResponse: return .connection("connection closed before a response")
        case .cutShort: return .connection("response cut short")
        case .malformed(let reason): return .connection("malformed response: \(reason)")
        }
    }

    // MARK: - Bytes in and out

    private enum IOResult {
        case done(Int)
        case wouldBlock
        case closed
        case failed
    }

    private func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        if let ssl {
            let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if count > 0 { return .done(Int(count)) }
            return tlsResult(ssl, count)
        }
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .done(count) }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        if let ssl {
            let count = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
            if count > 0 { return .done(Int(count)) }
            return tlsResult(ssl, count)
        }
        while true {
            let count = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return .done(count) }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    private func tlsResult(_ ssl: OpaquePointer, _ result: Int32) -> IOResult {
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            ERR_clear_error()
            return .failed
        }
    }

    // MARK: - Closing

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        closeSocket()
    }

    private func closeSocket() {
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
        }
        guard fd >= 0 else { return }
        if client.loop.handler(for: fd) === self { client.loop.unregister(fd) }
        Glibc.close(fd)
        fd = -1
    }
}
