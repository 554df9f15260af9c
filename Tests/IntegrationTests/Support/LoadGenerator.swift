import Foundation
import Synchronization

/// Clients on their own threads sending `GET path` until stopped, counting every failure: a
/// refused connection, a reset, a timeout or a status other than 200. Keep-alive clients reuse
/// their connection until the server answers `Connection: close`, as real clients do.
final class LoadGenerator: Sendable {
    private let port: Int
    private let path: String
    private let running = Atomic<Bool>(true)
    private let successes = Atomic<Int>(0)
    private let failureLog = Mutex<[String]>([])
    private let finished = DispatchGroup()

    init(port: Int, path: String = "/healthz", keepAliveClients: Int, freshConnectionClients: Int) {
        self.port = port
        self.path = path
        for _ in 0..<keepAliveClients { start(keepAlive: true) }
        for _ in 0..<freshConnectionClients { start(keepAlive: false) }
    }

    private func start(keepAlive: Bool) {
        finished.enter()
        let thread = Thread { [self] in
            defer { finished.leave() }
            var connection: TestConnection?
            while running.load(ordering: .relaxed) {
                // Like every real HTTP client (RFC 9112, 9.3.1), a request that fails on a reused
                // keep-alive connection before any byte of its answer arrived is retried once on a
                // fresh connection: the server may have closed the idle connection just as the
                // request was sent. A failure on a fresh connection always counts.
                var attempts = 0
                while attempts < 2 {
                    attempts += 1
                    let reused = connection != nil && connection!.responsesRead > 0
                    do {
                        if connection == nil { connection = try TestConnection(port: port) }
                        let response = try connection!.get(path, headers: keepAlive ? [] : ["Connection: close"])
                        if response.status == 200 {
                            successes.add(1, ordering: .relaxed)
                        } else {
                            failureLog.withLock { $0.append("status \(response.status)") }
                        }
                        if !keepAlive || response.header("Connection")?.lowercased() == "close" { connection = nil }
                        break
                    } catch {
                        connection = nil
                        if reused && error as? TestClientError == .closedBeforeResponse { continue }
                        failureLog.withLock { $0.append("\(error) (keep-alive: \(keepAlive), reused: \(reused))") }
                        break
                    }
                }
            }
        }
        thread.start()
    }

    /// Stops every client and waits for them.
    func stop() {
        running.store(false, ordering: .relaxed)
        finished.wait()
    }

    var succeeded: Int { successes.load(ordering: .relaxed) }
    var failures: [String] { failureLog.withLock { $0 } }
}
