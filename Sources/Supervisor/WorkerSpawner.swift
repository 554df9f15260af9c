import CGatewayLinux
import Common
import Worker

#if canImport(Glibc)
import Glibc
#endif

/// Starts worker processes by fork+exec of our own binary (posix_spawn with signals reset):
/// a bare fork of a Swift process is unsafe once any runtime thread exists.
struct WorkerSpawner {
    let arguments0: String

    struct Spawned {
        let pid: Int32
        let control: Int32
    }

    /// Variables a worker must never see: systemd's messages come only from the supervisor.
    static let scrubbed: Set<String> = [
        "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID", "WATCHDOG_USEC",
        "WATCHDOG_PID",
    ]

    func spawn(
        statsSlot: Int, statsFD: Int32, listeners: [Int32], shared: Bool, variables: [String: String]
    ) throws(SystemError) -> Spawned {
        var pair: [Int32] = [0, 0]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else { throw SystemError("socketpair") }
        let parentEnd = try ListeningSockets.moveHigh(pair[0])
        let childEnd = try ListeningSockets.moveHigh(pair[1])
        defer { close(childEnd) }

        var map: [Int32] = [statsFD, WorkerDescriptors.stats, childEnd, WorkerDescriptors.control]
        for (offset, fd) in listeners.enumerated() {
            map += [fd, WorkerDescriptors.firstListener + Int32(offset)]
        }
        var environment = variables.filter { !Self.scrubbed.contains($0.key) }
        environment[WorkerDescriptors.listenerCountVariable] = String(listeners.count)
        environment[WorkerDescriptors.sharedListenersVariable] = shared ? "1" : "0"
        // GnuTLS is mapped only as a dependency of libpq's LDAP lookup (through libldap), which
        // the gateway never uses (it and libpq speak TLS through OpenSSL); its load-time
        // initialisation would still cost each worker ~0.7 MB. libldap initialises it itself
        // when it is used.
        environment["GNUTLS_NO_IMPLICIT_INIT"] = "1"

        let argv = [arguments0, "worker", "--slot", String(statsSlot)]
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                cgl_spawn(&pid, "/proc/self/exe", argvPointer, envPointer, map, Int32(map.count / 2))
            }
        }
        guard status == 0 else {
            close(parentEnd)
            throw SystemError("posix_spawn", errno: status)
        }
        return Spawned(pid: pid, control: parentEnd)
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
