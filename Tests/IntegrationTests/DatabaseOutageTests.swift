import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A database outage loses no request and no log record: known keys keep working, log rows
/// wait (in memory, then in the spool) and reach the database once it is back.
@Suite(.serialized)
struct DatabaseOutageTests {
    /// A PostgreSQL of this test's own (scripts/services with private ports and directory), so
    /// stopping it disturbs no other test.
    final class PrivatePostgres {
        let environment: [String: String]
        let url: String

        init() throws {
            let directory = "/tmp/llm0-outage-\(UUID().uuidString.prefix(8))"
            environment = [
                "LLM0_TEST_SERVICES_DIR": directory, "LLM0_TEST_PG_PORT": String(freePort()),
                "LLM0_TEST_REDIS_PORT": String(freePort()),
            ]
            let output = try Self.services([], environment: environment)
            guard let line = output.split(separator: "\n").first(where: { $0.contains("TEST_DATABASE_URL=") }),
                let equals = line.firstIndex(of: "=")
            else { throw GatewayTestError.notServing("scripts/services printed no URL: \(output)") }
            url = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }

        func stop() throws { _ = try Self.services(["stop", "postgres"], environment: environment) }
        func start() throws { _ = try Self.services([], environment: environment) }

        deinit {
            _ = try? Self.services(["stop"], environment: environment)
            try? FileManager.default.removeItem(atPath: environment["LLM0_TEST_SERVICES_DIR"]!)
        }

        static func services(_ arguments: [String], environment extra: [String: String]) throws -> String {
            var environment = ProcessInfo.processInfo.environment
            for (key, value) in extra { environment[key] = value }
            // Output to a file, not a pipe: the servers it starts inherit it and would hold a
            // pipe open for ever.
            let script = MockUpstream.repositoryRoot.appendingPathComponent("scripts/services").path
            let result = try ChildProcess.run(["/bin/bash", script] + arguments, environment: environment, timeout: 90)
            guard result.status == 0 else {
                throw GatewayTestError.notServing("scripts/services \(arguments) failed: \(result.output)")
            }
            return result.output
        }
    }

    static func loggedRequestIDs(_ gateway: GatewayProcess) -> Set<String> {
        let logs = try? call(port: gateway.port, "GET", "/admin/logs?limit=1000", headers: [ChatCompletionTests.admin])
        return Set(((logs?.json["data"] as? [[String: Any]]) ?? []).compactMap { $0["request_id"] as? String })
    }

    @Test func requestsKeepBeingServedAndLoggedThroughAnOutage() throws {
        let database = try PrivatePostgres()
        let mock = try MockUpstream()
        var environment = mock.environment
        environment["DATABASE_URL"] = database.url
        environment["ADMIN_TOKEN"] = "admin-token-for-tests-0001"
        environment["WORKERS"] = "1"
        let gateway = try GatewayProcess(environment: environment)
        gateway.companions += [mock, database]

        func ask(_ id: String) throws -> Int {
            try call(port: gateway.port, "POST", "/v1/chat/completions",
                headers: [ChatCompletionTests.key, "X-Request-Id: \(id)"], body: ChatCompletionTests.chat()).status
        }
        #expect(try ask("outage-0") == 200)
        #expect(eventually(timeout: 10) { Self.loggedRequestIDs(gateway).contains("outage-0") })

        try database.stop()
        #expect(try call(port: gateway.port, "GET", "/readyz").status == 503)
        usleep(4_500_000)  // past the key cache's lifetime: the key is served from what the worker knew
        var ids: [String] = []
        for index in 1...5 {
            ids.append("outage-\(index)")
            #expect(try ask("outage-\(index)") == 200)
        }
        try database.start()
        let all = eventually(timeout: 30) { Self.loggedRequestIDs(gateway).isSuperset(of: ids) }
        #expect(all, "log rows written during the outage never reached the database: \(Self.loggedRequestIDs(gateway))")
        #expect(try call(port: gateway.port, "GET", "/readyz").status == 200)
    }

    @Test func rowsSpooledAtShutdownAreReplayedByTheNextGateway() throws {
        let database = try PrivatePostgres()
        let mock = try MockUpstream()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        var environment = mock.environment
        environment["DATABASE_URL"] = database.url
        environment["ADMIN_TOKEN"] = "admin-token-for-tests-0001"
        environment["GATEWAY_DATA_DIR"] = dataDirectory
        environment["WORKERS"] = "1"
        let first = try GatewayProcess(environment: environment)
        #expect(try call(port: first.port, "POST", "/v1/chat/completions",
            headers: [ChatCompletionTests.key, "X-Request-Id: warm"], body: ChatCompletionTests.chat()).status == 200)
        try database.stop()
        usleep(300_000)
        for index in 0..<3 {
            #expect(try call(port: first.port, "POST", "/v1/chat/completions",
                headers: [ChatCompletionTests.key, "X-Request-Id: spooled-\(index)"], body: ChatCompletionTests.chat()).status == 200)
        }
        first.signal(SIGTERM)
        #expect(first.waitForExit(timeout: 40) == 0)
        let spool = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/spool")) ?? []
        #expect(!spool.isEmpty, "nothing was spooled")

        try database.start()
        let second = try GatewayProcess(environment: environment)
        second.companions += [mock, database]
        let replayed = eventually(timeout: 30) {
            Self.loggedRequestIDs(second).isSuperset(of: ["spooled-0", "spooled-1", "spooled-2"])
        }
        #expect(replayed, "spooled rows were not replayed: \(Self.loggedRequestIDs(second))")
    }
}
