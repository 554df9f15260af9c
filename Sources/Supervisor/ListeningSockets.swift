import CGatewayLinux
import Common
import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets, owned by the supervisor for its whole life so that no connection
/// waiting in a queue is lost when a worker is replaced. Either systemd's (shared by every
/// worker) or our own: one SO_REUSEPORT socket per worker slot, so the kernel spreads new
/// connections across workers and a replacement worker inherits its predecessor's queue.
final class ListeningSockets {
    private(set) var descriptors: [Int32] = []
    /// True when the sockets came from systemd and every worker shares all of them.
    let fromSystemd: Bool
    private var address: (host: String, port: Int)
    /// The port actually bound (differs from the configured one when that is 0).
    private(set) var boundPort: Int = 0

    /// Descriptors handed to workers are kept above this, clear of the fixed numbers they are
    /// given in the worker (3, 4, 5…), so mapping them there never overwrites a source.
    static let reservedBelow: Int32 = 512

    init(config: GatewayConfig, logger: Logger) throws(SystemError) {
        address = (config.host, config.port)
        let passed = sd_listen_fds(1)
        if passed > 0 {
            fromSystemd = true
            for offset in 0..<passed {
                descriptors.append(try Self.moveHigh(SD_LISTEN_FDS_START + offset))
            }
            logger.info("using sockets passed by systemd", ["count": .int(Int(passed))])
        } else {
            fromSystemd = false
            try ensure(count: config.workers, logger: logger)
        }
    }

    /// Binds more SO_REUSEPORT sockets until there are `count` (a reload may raise WORKERS).
    func ensure(count: Int, logger: Logger) throws(SystemError) {
        guard !fromSystemd else { return }
        while descriptors.count < count {
            let port = descriptors.isEmpty ? address.port : boundPort
            let fd = try bindWithRetry(host: address.host, port: port, logger: logger)
            if descriptors.isEmpty {
                boundPort = Self.localPort(fd)
                logger.info("listening", ["host": .string(address.host), "port": .int(boundPort), "reuseport": .bool(true)])
            }
            descriptors.append(try Self.moveHigh(fd))
        }
    }

    /// The sockets worker `index` of `count` accepts on: all of systemd's, or every socket whose
    /// number is congruent to `index` (so fewer workers after a reload still serve every queue).
    func assigned(toWorker index: Int, of count: Int) -> [Int32] {
        if fromSystemd { return descriptors }
        return descriptors.indices.filter { $0 % count == index }.map { descriptors[$0] }
    }

    // MARK: - Binding

    private func bindWithRetry(host: String, port: Int, logger: Logger) throws(SystemError) -> Int32 {
        var attempt = 0
        while true {
            do {
                return try Self.bind(host: host, port: port)
            } catch let error where error.errno == EADDRINUSE && attempt < 4 {
                attempt += 1
                logger.warn("address in use, retrying", ["port": .int(port), "attempt": .int(attempt)])
                usleep(500_000)
            }
        }
    }

    private static func bind(host: String, port: Int) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let status = getaddrinfo(bareHost, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw SystemError("cannot resolve HOST \(host): \(String(cString: gai_strerror(status)))", errno: 0)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var one: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, size)
        if info.pointee.ai_family == AF_INET6 {
            var zero: Int32 = 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, size)
        }
        guard Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let error = SystemError("bind \(host):\(port)")
            close(fd)
            throw error
        }
        guard listen(fd, 4096) == 0 else {
            let error = SystemError("listen")
            close(fd)
            throw error
        }
        return fd
    }

    private static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return 0 }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Moves a descriptor above `reservedBelow`, close-on-exec.
    static func moveHigh(_ fd: Int32) throws(SystemError) -> Int32 {
        let high = fcntl(fd, F_DUPFD_CLOEXEC, reservedBelow)
        guard high >= 0 else { throw SystemError("fcntl(F_DUPFD_CLOEXEC)") }
        close(fd)
        return high
    }
}
