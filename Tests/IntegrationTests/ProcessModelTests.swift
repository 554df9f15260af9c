import Common
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor and its workers, driven as an operator would: signals, kills, real sockets.
@Suite(.serialized)
struct ProcessModelTests {
    @Test func workersShareTheLoadAndMetricsCountEveryRequest() throws {
        let gateway = try GatewayProcess(environment: ["WORKERS": "3"])
        let workers = gateway.workerPIDs()
        #expect(workers.count == 3)
        for pid in workers {
            #expect(GatewayProcess.commandLine(of: pid).contains("worker"))
            let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            #expect(name.contains("worker"))
        }
        #expect(!GatewayProcess.commandLine(of: gateway.pid).contains("worker"))

        let baseline = try gateway.metric("llm0_http_requests_total{route=\"/healthz\",code_class=\"2xx\"}")
        let sent = 90
        for _ in 0..<sent { #expect(try fetch(port: gateway.port, "/healthz").status == 200) }

        // Each worker's own slot says how many it answered: more than one of them did.
        let served = workers.compactMap { gateway.statsSlot(ofWorker: $0) }
            .map { $0.counter(Metric.requests(.healthz, status: 200)) }
        #expect(served.count == 3)
        #expect(served.filter { $0 > 0 }.count >= 2, "requests over fresh connections reached one worker only: \(served)")

        let total = try gateway.metric("llm0_http_requests_total{route=\"/healthz\",code_class=\"2xx\"}")
        #expect(total - baseline == Double(sent))
        #expect(try gateway.metric("llm0_workers") == 3)
        #expect(try gateway.metric("llm0_http_request_duration_seconds_count") >= Double(sent))
    }

    @Test func reloadUnderLoadFailsNoRequest() throws {
        let gateway = try GatewayProcess(environment: ["WORKERS": "2"])
        let before = gateway.workerPIDs()
        let load = LoadGenerator(port: gateway.port, keepAliveClients: 3, freshConnectionClients: 3)
        usleep(700_000)
        gateway.signal(SIGHUP)
        let replaced = eventually(timeout: 20) {
            let now = gateway.workerPIDs()
            return now.count == 2 && now.isDisjoint(with: before)
        }
        usleep(700_000)
        gateway.signal(SIGHUP)  // and once more, back to back with traffic
        usleep(1_500_000)
        load.stop()
        #expect(replaced, "the old workers were not replaced:\n\(gateway.log)")
        #expect(load.failures.isEmpty, "failed requests during reload: \(load.failures.prefix(5))")
        #expect(load.succeeded > 100)
        #expect(gateway.log.contains("reload complete"))
    }

    @Test func aKilledWorkerIsReplacedAndCountersKeepGrowing() throws {
        let gateway = try GatewayProcess(environment: ["WORKERS": "2"])
        for _ in 0..<20 { _ = try fetch(port: gateway.port, "/healthz") }
        let series = "llm0_http_requests_total{route=\"/healthz\",code_class=\"2xx\"}"
        let before = try gateway.metric(series)
        let victim = gateway.workerPIDs().first!
        kill(victim, SIGKILL)
        let start = Date()
        let replaced = eventually(timeout: 5) {
            let now = gateway.workerPIDs()
            return now.count == 2 && !now.contains(victim)
        }
        let replacedAfter = Date().timeIntervalSince(start)
        #expect(replaced, "the killed worker was not replaced")
        print("worker replaced after \(Int(replacedAfter * 1000)) ms")

        // The dead worker's requests stay counted, and scrapes never see a total go down.
        var previous = before
        for _ in 0..<30 {
            _ = try fetch(port: gateway.port, "/healthz")
            let current = try gateway.metric(series)
            #expect(current >= previous)
            previous = current
        }
        #expect(previous >= before + 30)
        #expect(try gateway.metric("llm0_worker_restarts_total") == 1)
        #expect(gateway.log.contains("killed by signal 9"))
    }

    @Test func sigtermLetsTheRequestInFlightFinishThenExitsZero() throws {
        let gateway = try GatewayProcess(environment: ["WORKERS": "2"])
        let connection = try TestConnection(port: gateway.port)
        try connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")
        usleep(300_000)
        gateway.signal(SIGTERM)
        usleep(700_000)
        #expect(gateway.process.isRunning, "the gateway exited with a request in flight")
        // New connections are no longer accepted by anyone once every worker drains...
        try connection.send("world")
        let response = try connection.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(gateway.waitForExit() == 0)
        #expect(gateway.log.contains("supervisor stopped"))
    }

    @Test func sigtermWithIdleKeepAliveConnectionsExitsPromptly() throws {
        let gateway = try GatewayProcess(environment: ["WORKERS": "2", "SHUTDOWN_GRACE": "30s"])
        let idle = try TestConnection(port: gateway.port)
        #expect(try idle.get("/healthz").status == 200)
        gateway.signal(SIGINT)
        #expect(gateway.waitForExit(timeout: 10) == 0)
        #expect(idle.isClosedByPeer())
    }

    @Test func anInvalidVariableStopsTheStartNamingIt() throws {
        for (variable, value) in [("PORT", "eighty"), ("WORKERS", "0"), ("SHUTDOWN_GRACE", "soon"), ("LOG_LEVEL", "loud")] {
            let gateway = try GatewayProcess(environment: [variable: value], waitUntilServing: false)
            #expect(gateway.waitForExit(timeout: 10) == 1)
            let lines = gateway.log.split(separator: "\n")
            #expect(lines.count == 1, "expected one line, got: \(gateway.log)")
            #expect(gateway.log.contains(variable))
        }
    }

    @Test func dotEnvIsReadAndTheRealEnvironmentWins() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-dotenv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "# comment\nexport WORKERS=3\nLOG_LEVEL='debug'\nMAX_REQUEST_BYTES=\"1234\"\n"
            .write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["WORKERS"] = "5"
        let (status, output) = try ChildProcess.run([GatewayProcess.binaryPath, "check-config"], environment: environment,
            directory: directory.path)
        #expect(status == 0)
        #expect(output.contains("WORKERS=5"))
        #expect(output.contains("LOG_LEVEL=debug"))
        #expect(output.contains("MAX_REQUEST_BYTES=1234"))
    }
}
