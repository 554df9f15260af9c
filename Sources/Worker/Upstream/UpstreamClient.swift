import CCurl
import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// libcurl's multi interface driven by the worker's event loop: curl tells us which sockets to
/// watch (socket callback) and when to wake it (timer callback); we watch them with epoll and
/// hand every event back. Connections to each provider are kept and reused across requests; TLS
/// peers are verified. Nothing here blocks the loop.
@LoopActor
final class UpstreamClient {
    private let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private var transfers: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]
    /// Sockets curl asked us to watch, and kept-alive connections it stopped watching (parked).
    private var watched: [Int32: CurlSocket] = [:]
    private var timerID: Int?
    /// Easy handles of transfers that ended cleanly, kept with their fixed options for the next
    /// transfers: creating one costs an allocation of several kilobytes and its initialisation,
    /// and resetting one means setting every option again, on every request otherwise.
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private let maxSpareHandles = 256
    /// See `headerList(for:_:)`.
    private var sharedHeaderLists: [(headers: [UpstreamRequest.Header], list: UnsafeMutablePointer<curl_slist>)] = []
    private let maxSharedHeaderLists = 16
    /// Streams whose consumer asked for a pause; applied after the current action.
    private var pauseCandidates: [UpstreamTransfer] = []
    let headTimeoutNanos: UInt64
    let idleTimeoutNanos: UInt64

    init(loop: EventLoop, headTimeoutNanos: UInt64, idleTimeoutNanos: UInt64) {
        Self.globalInit
        self.loop = loop
        self.headTimeoutNanos = headTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        multi = curl_multi_init()!
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_multi_setopt_socket(multi, curlSocketCallback)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        _ = ccurl_multi_setopt_timer(multi, curlTimerCallback)
        _ = ccurl_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 512)
        loop.every(100_000_000) { [unowned self] in self.enforceDeadlines() }
    }

    /// curl_global_init is not thread-safe; it runs once, before any transfer.
    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    var activeTransfers: Int { transfers.count }

    /// Starts `request`; the returned transfer reports its head, body and end.
    func start(_ request: UpstreamRequest, headTimeoutNanos: UInt64? = nil, maxBodyBytes: Int = 64 << 20) -> UpstreamTransfer {
        let headTimeout = headTimeoutNanos ?? self.headTimeoutNanos
        let transfer = UpstreamTransfer(
            request: request, now: loop.now, headTimeoutNanos: headTimeout, idleTimeoutNanos: idleTimeoutNanos,
            maxBodyBytes: maxBodyBytes)
        guard let easy = spareHandles.popLast() ?? makeHandle() else {
            transfer.finish(.connection("could not create a transfer"))
            return transfer
        }
        transfer.easy = easy
        transfer.client = self
        let me = Unmanaged.passUnretained(transfer).toOpaque()
        // Only what differs from one transfer to the next; the rest was set by makeHandle.
        _ = ccurl_easy_setopt_str(easy, CURLOPT_URL, request.url)
        _ = ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
        request.body.withUnsafeBufferPointer { buffer in
            // COPYPOSTFIELDS copies: the body need not outlive this call.
            _ = ccurl_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
        }
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList(for: request.headers, transfer)))
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(min(headTimeout, 10_000_000_000) / 1_000_000))
        transfers[easy] = transfer
        // Adding the handle makes curl ask for a timer of 0 ms (setTimer), which runs the
        // transfer at the end of this turn of the loop, batched with the others started in it.
        _ = curl_multi_add_handle(multi, easy)
        return transfer
    }

    /// A new easy handle with the options every transfer shares.
    private func makeHandle() -> UnsafeMutableRawPointer? {
        guard let easy = curl_easy_init() else { return nil }
        // curl closes connections through us, so a parked socket leaves epoll before its number
        // can be handed out again (see `watch`).
        _ = ccurl_easy_setopt_closesocket(easy, curlCloseSocketCallback)
        _ = ccurl_easy_setopt_ptr(easy, CURLOPT_CLOSESOCKETDATA, Unmanaged.passUnretained(self).toOpaque())
        _ = ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_POST, 1)
        _ = ccurl_easy_setopt_write(easy, curlWriteCallback)
        _ = ccurl_easy_setopt_header(easy, curlHeaderCallback)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        return easy
    }

    /// Stops a transfer at once (the client went away); its connection is closed, not reused.
    func cancel(_ transfer: UpstreamTransfer) {
        guard !transfer.isComplete, !transfer.isCancelling else { return }
        // A cancel can come from inside a libcurl callback (a write that found the client
        // gone); removing the easy handle there would free what curl is still using.
        transfer.isCancelling = true
        loop.runSoon { [weak self] in
            guard let self, !transfer.isComplete else { return }
            self.end(transfer, failure: .cancelled)
        }
    }

    /// The header list for a request: each provider sends the same few headers every time, so
    /// their lists are built once and shared (kept for the worker's life, at most
    /// `maxSharedHeaderLists`); any other list belongs to its transfer and is freed with it.
    private func headerList(for headers: [UpstreamRequest.Header], _ transfer: UpstreamTransfer)
        -> UnsafeMutablePointer<curl_slist>?
    {
        if let shared = sharedHeaderLists.first(where: { $0.headers == headers }) { return shared.list }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, "\(header.name): \(header.value)") }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        if let list, sharedHeaderLists.count < maxSharedHeaderLists {
            sharedHeaderLists.append((headers, list))
        } else {
            transfer.headerList = list
        }
        return list
    }

    /// Called by a transfer whose consumer asked for a pause.
    func pauseSoon(_ transfer: UpstreamTransfer) {
        pauseCandidates.append(transfer)
    }

    /// Lets a paused stream flow again.
    func resume(_ transfer: UpstreamTransfer) {
        transfer.clearPauseRequest()
        guard transfer.isPaused, transfer.easy != nil else { return }
        transfer.isPaused = false
        loop.runSoon { [weak self] in
            // The transfer may have ended (and its handle been freed) since.
            guard let easy = transfer.easy, !transfer.isCancelling else { return }
            _ = curl_easy_pause(easy, CURLPAUSE_CONT)
            self?.afterAction()
        }
    }

    // MARK: - libcurl callbacks (on the loop thread, from inside curl_multi_socket_action)

    /// curl stops watching a kept-alive connection when its transfer ends and watches it again
    /// when the next transfer takes it: two epoll_ctl calls per request. Instead, a socket curl
    /// lets go of stays registered, parked, with the same events; taking it again costs nothing.
    /// Should a parked connection become readable (the server closed it), it is taken out of
    /// epoll then. curl closes sockets through `closing(fd:)`, which forgets them first; should
    /// a registration still have gone missing, a failed modify falls back to registering.
    fileprivate func watch(fd: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            watched[fd]?.isParked = true
            return
        }
        var events: UInt32 = 0
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events |= CGL_EPOLLIN }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events |= CGL_EPOLLOUT }
        if let socket = watched[fd], loop.handler(for: fd) === socket {
            socket.isParked = false
            if socket.events == events { return }
            socket.events = events
            if loop.modify(fd, events: events) { return }
            loop.unregister(fd)
        }
        let socket = CurlSocket(fd: fd, client: self, events: events)
        watched[fd] = socket
        try? loop.register(fd, events: events, handler: socket)
    }

    /// curl is about to close `fd`.
    fileprivate func closing(fd: Int32) {
        guard let socket = watched.removeValue(forKey: fd) else { return }
        if loop.handler(for: fd) === socket { loop.unregister(fd) }
    }

    /// A parked socket had an event: the server closed or wrote on an idle connection. curl will
    /// see that when it next checks the connection; we stop watching it.
    fileprivate func unpark(_ socket: CurlSocket) {
        if watched[socket.fd] === socket { watched[socket.fd] = nil }
        if loop.handler(for: socket.fd) === socket { loop.unregister(socket.fd) }
    }

    fileprivate func setTimer(milliseconds: Int) {
        if let timerID { loop.cancel(timer: timerID) }
        timerID = nil
        guard milliseconds >= 0 else { return }
        timerID = loop.schedule(at: loop.now + UInt64(milliseconds) * 1_000_000, timerFired)
    }

    /// One closure for every curl timer (curl asks for one several times per request), so
    /// setting a timer allocates no new closure context.
    private lazy var timerFired: () -> Void = { [unowned self] in
        self.timerID = nil
        self.socketAction(fd: CURL_SOCKET_TIMEOUT, flags: 0)
    }

    // MARK: - Driving curl

    fileprivate func socketAction(fd: Int32, flags: Int32) {
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, fd, flags, &running)
        afterAction()
    }

    /// Collects finished transfers and applies the pauses streams asked for.
    private func afterAction() {
        var left: Int32 = 0
        while let message = ccurl_multi_info_read(multi, &left) {
            guard ccurl_msg_is_done(message) != 0, let easy = message.pointee.easy_handle,
                let transfer = transfers[easy]
            else { continue }
            let code = ccurl_msg_result(message)
            end(transfer, failure: code == CURLE_OK ? nil : Self.failure(for: code, transfer: transfer))
        }
        // Only the streams that asked for a pause since the last action: walking every transfer
        // here would cost O(streams) per action with thousands of streams open.
        guard !pauseCandidates.isEmpty else { return }
        let candidates = pauseCandidates
        pauseCandidates.removeAll(keepingCapacity: true)
        for transfer in candidates where transfer.pauseRequested && !transfer.isPaused {
            if let easy = transfer.easy {
                transfer.isPaused = true
                _ = curl_easy_pause(easy, CURLPAUSE_RECV)
            }
        }
    }

    private func end(_ transfer: UpstreamTransfer, failure reported: UpstreamFailure?) {
        // A cancelled transfer is aborted by its own write callback; curl reports that as a
        // write error, which must not count against the provider.
        let failure = transfer.isCancelling ? .cancelled : reported
        if let easy = transfer.easy {
            transfers[easy] = nil
            _ = curl_multi_remove_handle(multi, easy)
            // Only a handle whose transfer ended cleanly is kept as it is: one that was paused,
            // cancelled or failed may carry state into the next transfer.
            if failure == nil && !transfer.isPaused && spareHandles.count < maxSpareHandles {
                spareHandles.append(easy)
            } else {
                curl_easy_cleanup(easy)
            }
            transfer.easy = nil
        }
        if let list = transfer.headerList {
            curl_slist_free_all(list)
            transfer.headerList = nil
        }
        transfer.finish(failure)
    }

    private func enforceDeadlines() {
        let now = loop.now
        for transfer in Array(transfers.values) {
            if !transfer.headReceived && now > transfer.headDeadline {
                end(transfer, failure: .timeout)
            } else if transfer.headReceived && !transfer.isPaused && now > transfer.lastActivity + transfer.idleTimeoutNanos {
                end(transfer, failure: .idleTimeout)
            }
        }
    }

    private static func failure(for code: CURLcode, transfer: UpstreamTransfer) -> UpstreamFailure {
        if transfer.failure == .tooLarge { return .tooLarge }
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return transfer.headReceived ? .idleTimeout : .timeout
        case CURLE_COULDNT_CONNECT: return .connection("connection refused")
        case CURLE_COULDNT_RESOLVE_HOST: return .connection("host name not found")
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING: return .connection("connection reset")
        case CURLE_PARTIAL_FILE: return .connection("response cut short")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return .connection("TLS handshake failed")
        default: return .connection(String(cString: curl_easy_strerror(code)))
        }
    }
}

/// A socket curl asked us to watch.
@LoopActor
private final class CurlSocket: EventHandler {
    let fd: Int32
    unowned let client: UpstreamClient
    var events: UInt32
    var isParked = false

    init(fd: Int32, client: UpstreamClient, events: UInt32) {
        self.fd = fd
        self.client = client
        self.events = events
    }

    func handleEvent(_ events: UInt32) {
        if isParked { return client.unpark(self) }
        var flags: Int32 = 0
        if events & CGL_EPOLLIN != 0 || events & CGL_EPOLLHUP != 0 { flags |= CURL_CSELECT_IN }
        if events & CGL_EPOLLOUT != 0 { flags |= CURL_CSELECT_OUT }
        if events & CGL_EPOLLERR != 0 { flags |= CURL_CSELECT_ERR }
        client.socketAction(fd: fd, flags: flags)
    }
}

// MARK: - C entry points (libcurl calls these on the loop thread)
//
// Each passes what it needs to a closure that captures nothing (see LoopActor.assumeIsolated).

private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ fd: curl_socket_t, _ what: Int32, _ userp: UnsafeMutableRawPointer?,
    _ socketp: UnsafeMutableRawPointer?
) -> Int32 {
    guard let userp else { return 0 }
    LoopActor.assumeIsolated((UInt(bitPattern: userp), fd, what)) { input in
        client(at: input.0).watch(fd: input.1, what: input.2)
    }
    return 0
}

private func curlCloseSocketCallback(_ clientp: UnsafeMutableRawPointer?, _ fd: curl_socket_t) -> Int32 {
    if let clientp {
        LoopActor.assumeIsolated((UInt(bitPattern: clientp), fd)) { input in client(at: input.0).closing(fd: input.1) }
    }
    return close(fd)
}

private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ userp: UnsafeMutableRawPointer?) -> Int32 {
    guard let userp else { return 0 }
    LoopActor.assumeIsolated((UInt(bitPattern: userp), milliseconds)) { input in
        client(at: input.0).setTimer(milliseconds: input.1)
    }
    return 0
}

private func curlWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userp: UnsafeMutableRawPointer?
) -> Int {
    guard let userp, let data else { return 0 }
    let length = size * count
    let accepted = LoopActor.assumeIsolated((UInt(bitPattern: userp), UInt(bitPattern: data), length)) { input -> Bool in
        let transfer = transfer(at: input.0)
        if transfer.isCancelling { return false }
        transfer.lastActivity = cgl_monotonic_ns()
        return transfer.receivedBody(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: input.1), count: input.2))
    }
    return accepted ? length : 0
}

private func curlHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userp: UnsafeMutableRawPointer?
) -> Int {
    guard let userp, let data else { return 0 }
    let length = size * count
    LoopActor.assumeIsolated((UInt(bitPattern: userp), UInt(bitPattern: data), length)) { input in
        let transfer = transfer(at: input.0)
        let headWasReceived = transfer.headReceived
        transfer.receivedHeaderLine(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: input.1), count: input.2))
        // Only the idle timeout reads lastActivity, and it starts with the head complete; the
        // head's own deadline is fixed. So the clock is read once per head, not once per line.
        if !headWasReceived && transfer.headReceived { transfer.lastActivity = cgl_monotonic_ns() }
    }
    return length
}

/// The objects behind libcurl's user pointers (passed unretained: each outlives its callbacks).
@LoopActor private func client(at address: UInt) -> UpstreamClient {
    Unmanaged<UpstreamClient>.fromOpaque(UnsafeMutableRawPointer(bitPattern: address)!).takeUnretainedValue()
}

@LoopActor private func transfer(at address: UInt) -> UpstreamTransfer {
    Unmanaged<UpstreamTransfer>.fromOpaque(UnsafeMutableRawPointer(bitPattern: address)!).takeUnretainedValue()
}
