import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// One address to connect to, as the kernel takes it.
struct SocketAddress: Sendable {
    var family: Int32
    var storage: sockaddr_storage
    var length: socklen_t
}

/// Turns provider host names into addresses without blocking the loop: getaddrinfo runs on a
/// short-lived thread of its own, lookups of one name in flight together share it, and answers
/// are kept for `ttlNanos` (getaddrinfo does not say how long they are good for). Literal
/// addresses need no lookup. Only new connections ask, so lookups are rare.
@LoopActor
final class HostResolver {
    private struct Entry {
        var addresses: [SocketAddress]
        var expires: UInt64
    }

    private var cache: [String: Entry] = [:]
    private var waiting: [String: [(Result<[SocketAddress], UpstreamFailure>) -> Void]] = [:]
    private let loop: EventLoop
    private let ttlNanos: UInt64

    init(loop: EventLoop, ttlNanos: UInt64 = 60_000_000_000) {
        self.loop = loop
        self.ttlNanos = ttlNanos
    }

    /// Calls `done` with the addresses of `host` (on the loop, perhaps before returning).
    func resolve(_ host: String, port: UInt16, _ done: @escaping (Result<[SocketAddress], UpstreamFailure>) -> Void) {
        if let literal = Self.literal(host, port: port) { return done(.success([literal])) }
        let key = "\(host):\(port)"
        if let entry = cache[key], entry.expires > loop.now { return done(.success(entry.addresses)) }
        if waiting[key] != nil {
            waiting[key]!.append(done)
            return
        }
        waiting[key] = [done]
        Self.lookUpOnThread(host: host, port: port) { result in
            Task { @LoopActor [weak self] in self?.answered(key, result) }
        }
    }

    private func answered(_ key: String, _ result: Result<[SocketAddress], UpstreamFailure>) {
        if case .success(let addresses) = result { cache[key] = Entry(addresses: addresses, expires: loop.now + ttlNanos) }
        for done in waiting.removeValue(forKey: key) ?? [] { done(result) }
    }

    /// An IPv4 or IPv6 address written out needs no lookup (getaddrinfo reads it without
    /// asking any resolver when told the host is numeric).
    nonisolated static func literal(_ host: String, port: UInt16) -> SocketAddress? {
        try? lookUp(host: host, port: port, flags: AI_NUMERICHOST).get().first
    }

    /// Runs getaddrinfo on a new detached thread and hands its answer to `done` there.
    private nonisolated static func lookUpOnThread(
        host: String, port: UInt16, _ done: @escaping @Sendable (Result<[SocketAddress], UpstreamFailure>) -> Void
    ) {
        let work = LookupWork { done(lookUp(host: host, port: port, flags: AI_ADDRCONFIG)) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(work).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            let work = Unmanaged<LookupWork>.fromOpaque(context!).takeRetainedValue()
            _ = cgl_set_process_name("resolver")
            work.run()
            return nil
        }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<LookupWork>.fromOpaque(context).release()
            done(.failure(.connection("host name lookup could not start")))
        }
    }

    private nonisolated static func lookUp(host: String, port: UInt16, flags: Int32) -> Result<[SocketAddress], UpstreamFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = flags
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else { return .failure(.connection("host name not found")) }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = list
        while let info = next {
            if let address = info.pointee.ai_addr, info.pointee.ai_addrlen <= socklen_t(MemoryLayout<sockaddr_storage>.size) {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(info.pointee.ai_addrlen)))
                }
                addresses.append(SocketAddress(family: info.pointee.ai_family, storage: storage, length: info.pointee.ai_addrlen))
            }
            next = info.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(.connection("host name not found")) : .success(addresses)
    }
}

/// What a lookup thread runs; passed through `pthread_create`'s context pointer.
private final class LookupWork: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
