import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections on one listening socket this worker was given. The supervisor owns the
/// socket; the worker only ever closes its own copy (never shutdown(), which would break it for
/// every process sharing it).
@LoopActor
final class HTTPListener: EventHandler {
    let fd: Int32
    private unowned let server: HTTPServerContext
    /// True for a socket shared by every worker (systemd's): each waiter is woken alone.
    private let exclusive: Bool
    private var isRegistered = false
    private var isClosed = false
    private var resumeAfter: UInt64 = 0

    init(fd: Int32, exclusive: Bool, server: HTTPServerContext) {
        self.fd = fd
        self.exclusive = exclusive
        self.server = server
    }

    func start() throws(SystemError) {
        _ = cgl_set_nonblocking(fd, 1)
        try register()
    }

    private func register() throws(SystemError) {
        guard !isRegistered, !isClosed else { return }
        try server.loop.register(fd, events: CGL_EPOLLIN | (exclusive ? CGL_EPOLLEXCLUSIVE : 0), handler: self)
        isRegistered = true
    }

    private func pause() {
        guard isRegistered else { return }
        server.loop.unregister(fd)
        isRegistered = false
    }

    func handleEvent(_ events: UInt32) {
        // A bounded batch keeps one busy listener from starving the connections it feeds, but a
        // generous one: under load epoll reports the listener only once per pass over every
        // ready socket, and a small batch then leaves thousands of clients waiting in the
        // accept queue for many seconds (measured with 10,000 streams: 64 per pass drained
        // the queue at 64 connections a second). An accept costs a few microseconds.
        for _ in 0..<1024 {
            guard server.openConnections < server.config.maxConnectionsPerWorker else {
                pause()
                return
            }
            let client = cgl_accept4(fd)
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO:
                    return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop accepting for a moment instead of spinning.
                    server.logger.warn("accept paused", ["reason": .string(String(cString: strerror(errno)))])
                    pause()
                    resumeAfter = server.loop.now + 100_000_000
                    return
                default:
                    server.logger.error("accept failed", ["errno": .int(Int(errno))])
                    return
                }
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let connection = HTTPConnection(fd: client, server: server)
            do {
                try server.loop.register(
                    client, events: CGL_EPOLLIN | CGL_EPOLLOUT | CGL_EPOLLRDHUP | CGL_EPOLLET, handler: connection)
            } catch {
                Glibc.close(client)
                continue
            }
            server.add(connection)
        }
    }

    /// Starts accepting again after a pause, once the reason for it has passed.
    func resumeIfPossible() {
        guard !isRegistered, !isClosed, server.loop.now >= resumeAfter,
            server.openConnections < server.config.maxConnectionsPerWorker
        else { return }
        try? register()
    }

    /// Stops accepting for good and closes this worker's copy of the socket.
    func close() {
        guard !isClosed else { return }
        pause()
        isClosed = true
        Glibc.close(fd)
    }
}
