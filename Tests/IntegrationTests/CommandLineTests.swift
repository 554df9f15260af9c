import Foundation
import Testing

/// `gateway migrate`, `gateway keys …`, `gateway version` and `check-config`, as an operator runs them.
@Suite(.serialized)
struct CommandLineTests {
    /// Runs the binary with `arguments` in `directory`; returns its exit status and output.
    static func run(_ arguments: [String], in directory: URL, environment extra: [String: String] = [:]) throws
        -> (status: Int32, output: String)
    {
        var environment = ProcessInfo.processInfo.environment
        environment["GATEWAY_DATA_DIR"] = directory.appendingPathComponent("data").path
        for (key, value) in extra { environment[key] = value }
        return try ChildProcess.run([GatewayProcess.binaryPath] + arguments, environment: environment, directory: directory.path)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llm0-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(arguments: StoreBackend.allCases)
    func keysAreCreatedListedAndRevokedFromTheCommandLine(backend: StoreBackend) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = try backend.environment()
        let migrate = try Self.run(["migrate"], in: directory, environment: environment)
        #expect(migrate.status == 0, "\(migrate.output)")
        #expect(try Self.run(["migrate"], in: directory, environment: environment).output.contains("up to date"))

        let created = try Self.run(["keys", "create", "--name", "cli key", "--rpm", "30", "--customer", "c-1"],
            in: directory, environment: environment)
        #expect(created.status == 0, "\(created.output)")
        let keyLine = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("key: gw_") })
        let plaintext = String(keyLine.dropFirst(5))
        let id = try #require(created.output.split(separator: "\"").first { $0.hasPrefix("key_") }).description

        let listed = try Self.run(["keys", "list"], in: directory, environment: environment)
        #expect(listed.output.contains(id))
        #expect(listed.output.contains("\"rate_limit_rpm\":30"))
        #expect(!listed.output.contains(plaintext))

        // The new key works against a gateway on the same store, until it is revoked.
        var gatewayEnvironment = environment
        gatewayEnvironment["GATEWAY_DATA_DIR"] = directory.appendingPathComponent("data").path
        let mock = try MockUpstream()
        for (key, value) in mock.environment { gatewayEnvironment[key] = value }
        let gateway = try GatewayProcess(environment: gatewayEnvironment)
        gateway.companions.append(mock)
        let body = ChatCompletionTests.chat()
        #expect(try call(port: gateway.port, "POST", "/v1/chat/completions",
            headers: ["Authorization: Bearer \(plaintext)"], body: body).status == 200)

        let revoked = try Self.run(["keys", "revoke", id], in: directory, environment: environment)
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(try Self.run(["keys", "revoke", id], in: directory, environment: environment).status == 1)
        let refused = eventually(timeout: 8) {
            (try? call(port: gateway.port, "POST", "/v1/chat/completions",
                headers: ["Authorization: Bearer \(plaintext)"], body: body).status) == 401
        }
        #expect(refused)
    }

    @Test func versionAndCheckConfigMaskSecrets() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try Self.run(["version"], in: directory).output.hasPrefix("llm0-gateway "))
        let check = try Self.run(["check-config"], in: directory, environment: [
            "OPENAI_API_KEY": "sk-very-secret-value", "DATABASE_URL": "postgres://user:hunter2secret@db:5432/x",
            "ADMIN_TOKEN": "admin-secret-token-123456",
        ])
        #expect(check.status == 0)
        #expect(check.output.contains("OPENAI_API_KEY=********"))
        #expect(check.output.contains("postgres://user:********@db:5432/x"))
        #expect(!check.output.contains("sk-very-secret-value"))
        #expect(!check.output.contains("hunter2secret"))
        #expect(!check.output.contains("admin-secret-token-123456"))
        let bad = try Self.run(["check-config"], in: directory, environment: ["DATABASE_URL": "mysql://x"])
        #expect(bad.status == 1)
        #expect(bad.output.contains("DATABASE_URL"))
        #expect(try Self.run(["frobnicate"], in: directory).status == 64)
    }
}
