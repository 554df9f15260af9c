import Common
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The real `gateway` binary started for one test, on its own port, with its own data directory
/// and log file. Stopped (SIGKILL, if still running) when the test drops it.
final class GatewayProcess {
    private(set) var process: ChildProcess!
    let port: Int
    let directory: URL
    let logURL: URL
    /// Objects that must live as long as this gateway (its mock upstream): Swift may end a
    /// local's life at its last use, which for a mock is often before the gateway needs it.
    var companions: [AnyObject] = []

    /// The binary built with the tests: beside the test bundle in `.build/<triple>/debug`.
    static var binaryPath: String {
        if let explicit = ProcessInfo.processInfo.environment["GATEWAY_BINARY"] { return explicit }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        for candidate in [directory.appendingPathComponent("gateway").path, ".build/debug/gateway"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return ".build/debug/gateway"
    }

    /// Starts `gateway serve` (or `launcher` wrapping it) and waits until `/healthz` answers.
    init(
        environment extra: [String: String] = [:], launcher: [String] = [], waitUntilServing: Bool = true,
        port chosenPort: Int? = nil
    ) throws {
        port = chosenPort ?? freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logURL = directory.appendingPathComponent("gateway.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LISTEN_") && $0.key != "NOTIFY_SOCKET" }
        environment["PORT"] = String(port)
        environment["HOST"] = "127.0.0.1"
        environment["WORKERS"] = "2"
        environment["GATEWAY_DATA_DIR"] = directory.appendingPathComponent("data").path
        environment["LOG_LEVEL"] = "info"
        environment["SHUTDOWN_GRACE"] = "10s"
        for (key, value) in extra { environment[key] = value }
        let command = launcher.isEmpty ? [Self.binaryPath, "serve"] : launcher + [Self.binaryPath, "serve"]
        process = try ChildProcess(command, environment: environment, directory: directory.path, outputPath: logURL.path)
        if waitUntilServing { try waitForWorkers(count: Int(environment["WORKERS"]!)!) }
    }

    deinit {
        // An init that threw before the process started leaves nothing to stop.
        guard process != nil else {
            try? FileManager.default.removeItem(at: directory)
            return
        }
        let workers = Self.children(of: pid)
        if process.isRunning { kill(pid, SIGKILL) }
        process.wait(timeout: 10)
        for worker in workers { kill(worker, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    var pid: Int32 { process.pid }

    /// Waits (bounded) until the supervisor reports every worker serving ("gateway ready", logged
    /// when each worker's heartbeat is up), `count` workers run and `/healthz` answers.
    func waitForWorkers(count: Int, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning { throw GatewayTestError.exited(log) }
            // The request comes first: under socket activation it is what starts the gateway.
            if let response = try? fetch(port: port, "/healthz"), response.status == 200, log.contains("gateway ready"),
                workerPIDs().count == count
            {
                return
            }
            usleep(50_000)
        }
        throw GatewayTestError.notServing(log)
    }

    /// Worker processes: children of the supervisor whose command line names them workers.
    func workerPIDs() -> Set<Int32> {
        Set(Self.children(of: pid).filter { Self.commandLine(of: $0).contains("worker") })
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits (bounded) for the supervisor to exit; returns its exit status.
    func waitForExit(timeout: Double = 30) -> Int32? {
        return process.wait(timeout: timeout)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// One metric's value from `/metrics`, by its exact series text.
    func metric(_ series: String) throws -> Double {
        let text = try fetch(port: port, "/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? -1
        }
        return 0
    }

    /// Maps a worker's stats segment (it holds the memfd at descriptor 3) to read its own slot.
    func statsSlot(ofWorker worker: Int32) -> StatsSlot? {
        let fd = open("/proc/\(worker)/fd/3", O_RDWR)
        guard fd >= 0, let stats = try? SharedStats.attach(fd: fd) else { return nil }
        for index in 0..<StatsLayout.slotCount where stats.slot(index).word(StatsLayout.SlotWord.pid) == UInt64(worker) {
            return stats.slot(index)
        }
        return nil
    }

    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent
        }
    }

    static func commandLine(of pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}

enum GatewayTestError: Error, CustomStringConvertible {
    case exited(String)
    case notServing(String)
    var description: String {
        switch self {
        case .exited(let log): "gateway exited early:\n\(log)"
        case .notServing(let log): "gateway did not start serving:\n\(log)"
        }
    }
}

/// A port no other server of this test run uses, for a child process to listen on.
///
/// Ports are handed out from below Linux's ephemeral range (32768-60999), one after another.
/// A port the kernel picked with bind(0) is free only until that socket closes: the kernel may
/// then give it to any of the thousands of client connections the suite opens, or to another
/// test's bind(0), before the child binds it. The mock then fails to start, or two gateways share
/// the port through SO_REUSEPORT and answer each other's clients. The kernel never picks a port
/// below the range by itself, so a port from the counter stays ours; each is still checked with a
/// bind, in case another program holds it. The start depends on the pid, so two test runs side
/// by side mostly use different ports.
func freePort() -> Int {
    _ = TestConnection.descriptorLimitRaised
    while true {
        let port = nextTestPort.withLock { next -> Int in
            let port = next
            next = next + 1 < testPortRange.upperBound ? next + 1 : testPortRange.lowerBound
            return port
        }
        if canBind(port) { return port }
    }
}

private let testPortRange = 20_000..<32_000
private let nextTestPort = Mutex<Int>(
    testPortRange.lowerBound + Int(getpid()) % 40 * (testPortRange.count / 40))

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
