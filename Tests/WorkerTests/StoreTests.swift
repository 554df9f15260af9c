import Common
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Worker

/// The two store implementations. The PostgreSQL cases need `TEST_DATABASE_URL` (CI and
/// `scripts/test` always set it, from `scripts/services`); without it they fail, never skip.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

struct StoreTestSetupError: Error, CustomStringConvertible {
    var description: String
}

/// A store on a fresh, empty database of its own, removed by `close()`. SQLite: a file in a new
/// temp directory. PostgreSQL: a new database created through `TEST_DATABASE_URL`'s connection
/// (its role has CREATEDB), so tests running in parallel never see each other's rows.
final class ScratchDatabase {
    let kind: StoreKind
    /// What `makeStore` takes: the scratch database's URL, or nil for SQLite.
    let databaseURL: String?
    let directory: String
    private let admin: PostgresStore?
    private let databaseName: String?

    init(_ kind: StoreKind) throws {
        self.kind = kind
        directory = NSTemporaryDirectory() + "llm0-store-test-" + UUID().uuidString.prefix(8).lowercased()
        switch kind {
        case .sqlite:
            databaseURL = nil
            admin = nil
            databaseName = nil
        case .postgres:
            let adminURL = try Self.testDatabaseURL()
            let name = "llm0_store_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            let admin = try PostgresStore(url: adminURL)
            // The name is ours, made of [a-z0-9_]: DDL cannot take parameters.
            try admin.executeAdministrativeSQL("CREATE DATABASE \(name)")
            guard var components = URLComponents(string: adminURL) else {
                throw StoreTestSetupError(description: "TEST_DATABASE_URL is not a URL")
            }
            components.path = "/" + name
            databaseURL = components.string
            self.admin = admin
            databaseName = name
        }
    }

    static func testDatabaseURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty else {
            throw StoreTestSetupError(
                description: """
                    TEST_DATABASE_URL is not set: the PostgreSQL store tests need a real server. Run them with \
                    scripts/test, or eval "$(scripts/services)" first. They fail rather than skip so CI can never \
                    pass without testing PostgreSQL.
                    """)
        }
        return url
    }

    /// A new store instance (a new connection) on this database.
    func open() throws -> any Store {
        try makeStore(databaseURL: databaseURL, dataDirectory: directory)
    }

    /// A new store instance, migrated.
    func openMigrated() throws -> any Store {
        let store = try open()
        _ = try store.migrate()
        return store
    }

    func close() {
        if let admin, let databaseName {
            _ = try? admin.executeAdministrativeSQL("DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a scratch database that is removed afterwards, pass or fail.
func withScratchDatabase(_ kind: StoreKind, _ body: (ScratchDatabase) throws -> Void) throws {
    let database = try ScratchDatabase(kind)
    defer { database.close() }
    try body(database)
}

/// Holds a store for another thread; each store is used by one thread at a time.
final class StoreBox: @unchecked Sendable {
    let store: any Store
    init(_ store: any Store) { self.store = store }
}

func expectStoreError<T>(
    _ kind: StoreError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) -> StoreError? {
    do {
        _ = try body()
        Issue.record("expected a \(kind) StoreError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

func timestamp(_ text: String) -> Timestamp { Timestamp(iso8601: text)! }
func decimal(_ text: String) -> Decimal12 { Decimal12(text)! }

@Suite struct StoreTests {
    /// SHA-256 of `gw_test_abc123`: `printf %s gw_test_abc123 | sha256sum`.
    static let testKeyHash = "75e69c7e00a482131c0ecbc6925ce189b59799811d870978d8c0e54256068957"

    // MARK: - Migrations

    @Test(arguments: StoreKind.allCases)
    func migrateAppliesOnceThenNothing(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.open()
            #expect(try store.migrate() == ["001"])
            #expect(try store.migrate() == [])
            // A new instance (a restarted worker) finds nothing to do either.
            #expect(try database.open().migrate() == [])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentMigrationsDoNotFail(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let boxes = try (0..<4).map { _ in StoreBox(try database.open()) }
            let results = Mutex<[Result<[String], StoreError>]>([])
            DispatchQueue.concurrentPerform(iterations: boxes.count) { index in
                let result = Result { () throws(StoreError) -> [String] in try boxes[index].store.migrate() }
                results.withLock { $0.append(result) }
            }
            let outcomes = results.withLock { $0 }
            #expect(outcomes.count == boxes.count)
            var applied: [String] = []
            for outcome in outcomes {
                switch outcome {
                case .success(let versions): applied += versions
                case .failure(let error): Issue.record("a concurrent migrate failed: \(error)")
                }
            }
            #expect(applied == ["001"], "exactly one instance applies the migration")
            #expect(try boxes[0].store.findKey(hash: Self.testKeyHash) != nil)
        }
    }

    @Test func embeddedMigrationsEqualTheFilesOnDisk() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for (directory, embedded) in [
            ("migrations", EmbeddedMigrations.postgres), ("migrations/sqlite", EmbeddedMigrations.sqlite),
        ] {
            let folder = root.appendingPathComponent(directory)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".sql") }.sorted()
            #expect(
                files.map { String($0.prefix { $0.isNumber }) } == embedded.map(\.version),
                "\(directory): run scripts/embed-migrations")
            for (file, migration) in zip(files, embedded) {
                let onDisk = try Data(contentsOf: folder.appendingPathComponent(file))
                #expect(
                    onDisk == Data(migration.sql.utf8),
                    "\(directory)/\(file) differs from EmbeddedMigrations.swift: run scripts/embed-migrations")
            }
        }
    }

    // MARK: - Keys

    @Test(arguments: StoreKind.allCases)
    func testKeyIsFoundByItsHash(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let key = try #require(try store.findKey(hash: Self.testKeyHash))
            #expect(key.id == "key_test")
            #expect(key.name == "test key")
            #expect(key.keyPrefix == "gw_test_abc1")
            #expect(key.rateLimitRPM == 100)
            #expect(key.customerID == nil)
            #expect(key.revokedAt == nil)
            #expect(abs(key.createdAt.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch) < 600_000)
            #expect(try store.findKey(hash: String(repeating: "0", count: 64)) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func keysAreInsertedListedAndRevoked(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let older = APIKeyRecord(
                id: "key_older", name: "older", keyHash: String(repeating: "a", count: 64), keyPrefix: "gw_older_123",
                rateLimitRPM: nil, customerID: nil, createdAt: timestamp("2040-01-01T00:00:00.001Z"))
            let newer = APIKeyRecord(
                id: "key_newer", name: "newer ✓ \"quoted\"", keyHash: String(repeating: "b", count: 64),
                keyPrefix: "gw_newer_123", rateLimitRPM: 60, customerID: "cust_42",
                createdAt: timestamp("2041-06-15T12:34:56.789Z"))
            try store.insertKey(older)
            try store.insertKey(newer)

            let listed = try store.listKeys()
            #expect(listed.count == 3)
            #expect(Array(listed.prefix(2)) == [newer, older], "newest first, every field intact")
            #expect(listed.last?.id == "key_test")
            #expect(try store.findKey(hash: newer.keyHash) == newer)

            var sameHash = older
            sameHash.id = "key_other"
            _ = expectStoreError(.constraint) { try store.insertKey(sameHash) }
            var sameID = older
            sameID.keyHash = String(repeating: "c", count: 64)
            _ = expectStoreError(.constraint) { try store.insertKey(sameID) }

            let before = Timestamp.now().millisecondsSinceEpoch
            #expect(try store.revokeKey(id: "key_older"))
            #expect(try store.revokeKey(id: "key_older") == false, "already revoked")
            #expect(try store.revokeKey(id: "key_missing") == false)
            let revoked = try #require(try store.findKey(hash: older.keyHash))
            let revokedAt = try #require(revoked.revokedAt)
            #expect(abs(revokedAt.millisecondsSinceEpoch - before) < 60_000)
            #expect(try store.listKeys().first { $0.id == "key_older" }?.revokedAt == revokedAt)
            #expect(try store.findKey(hash: newer.keyHash)?.revokedAt == nil)
        }
    }

    // MARK: - Logs

    static func sampleLog(_ index: Int, base: Timestamp) -> RequestLogRecord {
        let labels: [String: String] =
            switch index % 3 {
            case 0: [:]
            case 1: ["feature": "search"]
            default: ["feature": "chat \"quoted\" ✓ ünïcode", "team": "growth\\ops", "client": "ios\n1.2"]
            }
        return RequestLogRecord(
            createdAt: Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + Int64(index)),
            requestID: "req_\(index)", apiKeyID: index % 4 == 0 ? nil : "key_\(index % 4)",
            customerID: index % 5 == 0 ? nil : "cust_\(index % 5)", labels: labels,
            requestedModel: index % 7 == 0 ? nil : "openai/gpt-4o-mini", model: index % 7 == 0 ? nil : "gpt-4o-mini",
            provider: index % 7 == 0 ? nil : "openai", statusCode: index % 7 == 0 ? 502 : 200,
            errorType: index % 7 == 0 ? "upstream_error" : nil, stream: index % 2 == 0, cacheHit: index % 3 == 0,
            attempts: index % 3, promptTokens: index * 3, completionTokens: index * 5 + 1, cachedTokens: index % 11,
            costUSD: Decimal12(units: Int128(index) * 1_234_567), latencyMs: index % 1000,
            ttftMs: index % 2 == 0 ? index % 97 : nil)
    }

    @Test(arguments: StoreKind.allCases)
    func thousandLogsComeBackNewestFirstWithEveryField(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let base = timestamp("2025-03-01T08:00:00.000Z")
            let logs = (0..<1000).map { Self.sampleLog($0, base: base) }
            #expect(logs[1].costUSD.description == "0.000001234567")
            for batch in [0..<1, 1..<300, 300..<1000] {
                try store.insertLogs(Array(logs[batch]))
            }
            try store.insertLogs([])

            let read = try store.recentLogs(limit: 1000)
            #expect(read.count == 1000)
            let ids = read.compactMap(\.id)
            #expect(ids.count == 1000, "every record read back has its id")
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 > $1 })
            let withoutIDs = read.map { log -> RequestLogRecord in
                var log = log
                log.id = nil
                return log
            }
            #expect(withoutIDs == Array(logs.reversed()))
            if let first = withoutIDs.first(where: { $0.requestID == "req_1" }) {
                #expect(first.costUSD.description == "0.000001234567")
                #expect(first.labels == ["feature": "search"])
            }

            #expect(try store.recentLogs(limit: 3).map(\.requestID) == ["req_999", "req_998", "req_997"])
            #expect(try store.recentLogs(limit: 5000).count == 1000)
            #expect(try store.recentLogs(limit: 0).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLargeBatchIsOneTransaction(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let base = timestamp("2025-03-02T08:00:00.000Z")
            let logs = (0..<2500).map { Self.sampleLog($0, base: base) }
            try store.insertLogs(logs)
            #expect(try store.recentLogs(limit: 10_000).count == 2500)

            // A bad record anywhere refuses the whole batch: nothing of it is written.
            var bad = (0..<1500).map { Self.sampleLog($0, base: base) }
            bad[1400].promptTokens = Int(Int32.max) + 1
            _ = expectStoreError(.invalid) { try store.insertLogs(bad) }
            bad[1400] = Self.sampleLog(1400, base: base)
            bad[1499].requestID = "req_\u{0}nul"
            _ = expectStoreError(.invalid) { try store.insertLogs(bad) }
            #expect(try store.recentLogs(limit: 10_000).count == 2500)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func longTextsInBatchesOfEverySizeComeBackWhole(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let base = timestamp("2025-03-03T08:00:00.000Z")
            // Texts far larger than a row usually is, and batch sizes on both sides of the
            // embedded store's group of rows per statement.
            let logs = (0..<140).map { index -> RequestLogRecord in
                var log = Self.sampleLog(index, base: base)
                log.requestID = "req_\(index)_" + String(repeating: "é", count: index * 37)
                log.labels = ["long": String(repeating: "\u{1F600}", count: 2000 + index), "": "empty key"]
                log.errorType = index % 3 == 0 ? "" : nil
                return log
            }
            var start = 0
            for size in [31, 32, 33, 1, 43] {
                try store.insertLogs(Array(logs[start..<start + size]))
                start += size
            }
            let read = try store.recentLogs(limit: 1000).map { log -> RequestLogRecord in
                var log = log
                log.id = nil
                return log
            }
            #expect(read == Array(logs.reversed()))
        }
    }

    // MARK: - Usage

    static let usageLogs: [RequestLogRecord] = [
        RequestLogRecord(
            createdAt: timestamp("2025-01-01T10:00:00.000Z"), requestID: "r1", apiKeyID: "key_a", customerID: "cust1",
            labels: ["feature": "search", "team": "growth", "my-label": "x"], requestedModel: "gpt-4o-mini",
            model: "gpt-4o-mini", provider: "openai", statusCode: 200, attempts: 1, promptTokens: 10,
            completionTokens: 20, costUSD: decimal("0.000001234567"), latencyMs: 100),
        RequestLogRecord(
            createdAt: timestamp("2025-01-01T23:59:59.999Z"), requestID: "r2", apiKeyID: "key_a", customerID: "cust2",
            labels: ["feature": "chat"], requestedModel: "gpt-4o-mini", model: "gpt-4o-mini", provider: "openai",
            statusCode: 200, cacheHit: true, promptTokens: 5, completionTokens: 7, costUSD: decimal("0.000002"),
            latencyMs: 3),
        RequestLogRecord(
            createdAt: timestamp("2025-01-02T00:00:00.000Z"), requestID: "r3", apiKeyID: "key_b", customerID: "cust1",
            labels: ["feature": "search"], requestedModel: "anthropic/claude-sonnet-4-5", model: "claude-sonnet-4-5",
            provider: "anthropic", statusCode: 200, stream: true, attempts: 2, promptTokens: 100,
            completionTokens: 200, costUSD: decimal("0.5"), latencyMs: 900, ttftMs: 250),
        RequestLogRecord(
            createdAt: timestamp("2025-01-03T12:00:00.000Z"), requestID: "r4", statusCode: 401,
            errorType: "authentication_error"),
    ]

    static func row(
        _ group: String?, _ requests: Int, _ prompt: Int, _ completion: Int, _ cost: String, _ hits: Int
    ) -> UsageRow {
        UsageRow(
            group: group, requests: requests, promptTokens: prompt, completionTokens: completion,
            costUSD: decimal(cost), cacheHits: hits)
    }

    @Test(arguments: StoreKind.allCases)
    func usageIsGroupedEveryWay(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            try store.insertLogs(Self.usageLogs)
            let expectations: [(UsageGrouping, [UsageRow])] = [
                (
                    .model,
                    [
                        Self.row("claude-sonnet-4-5", 1, 100, 200, "0.5", 0),
                        Self.row("gpt-4o-mini", 2, 15, 27, "0.000003234567", 1), Self.row(nil, 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .provider,
                    [
                        Self.row("anthropic", 1, 100, 200, "0.5", 0), Self.row("openai", 2, 15, 27, "0.000003234567", 1),
                        Self.row(nil, 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .key,
                    [
                        Self.row("key_a", 2, 15, 27, "0.000003234567", 1), Self.row("key_b", 1, 100, 200, "0.5", 0),
                        Self.row(nil, 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .customer,
                    [
                        Self.row("cust1", 2, 110, 220, "0.500001234567", 0), Self.row("cust2", 1, 5, 7, "0.000002", 1),
                        Self.row(nil, 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .day,
                    [
                        Self.row("2025-01-01", 2, 15, 27, "0.000003234567", 1),
                        Self.row("2025-01-02", 1, 100, 200, "0.5", 0), Self.row("2025-01-03", 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .label("feature"),
                    [
                        Self.row("chat", 1, 5, 7, "0.000002", 1), Self.row("search", 2, 110, 220, "0.500001234567", 0),
                        Self.row(nil, 1, 0, 0, "0", 0),
                    ]
                ),
                (
                    .label("team"),
                    [Self.row("growth", 1, 10, 20, "0.000001234567", 0), Self.row(nil, 3, 105, 207, "0.500002", 1)]
                ),
                (.label("my-label"), [Self.row("x", 1, 10, 20, "0.000001234567", 0), Self.row(nil, 3, 105, 207, "0.500002", 1)]),
                (.label("absent"), [Self.row(nil, 4, 115, 227, "0.500003234567", 1)]),
            ]
            for (grouping, expected) in expectations {
                #expect(try store.usage(groupBy: grouping, from: nil, to: nil) == expected, "group by \(grouping)")
            }

            // from is inclusive, to exclusive.
            let window = try store.usage(
                groupBy: .model, from: timestamp("2025-01-01T23:59:59.999Z"), to: timestamp("2025-01-03T12:00:00.000Z"))
            #expect(window == [Self.row("claude-sonnet-4-5", 1, 100, 200, "0.5", 0), Self.row("gpt-4o-mini", 1, 5, 7, "0.000002", 1)])
            let fromOnly = try store.usage(groupBy: .day, from: timestamp("2025-01-02T00:00:00Z"), to: nil)
            #expect(fromOnly.map(\.group) == ["2025-01-02", "2025-01-03"])
            let toOnly = try store.usage(groupBy: .day, from: nil, to: timestamp("2025-01-02T00:00:00Z"))
            #expect(toOnly == [Self.row("2025-01-01", 2, 15, 27, "0.000003234567", 1)])
            #expect(try store.usage(groupBy: .model, from: timestamp("2030-01-01"), to: nil).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func usageSumsCostsExactly(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let base = timestamp("2025-04-01T00:00:00Z")
            // 0.1 and 0.2 do not add up to 0.3 in floating point; 3,000 tiny costs plus a large one
            // would lose the tiny digits in a Double.
            var logs = (0..<3000).map { index in
                RequestLogRecord(
                    createdAt: Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + Int64(index)),
                    requestID: "r\(index)", model: "m", statusCode: 200,
                    costUSD: index % 2 == 0 ? decimal("0.1") : decimal("0.2"))
            }
            logs.append(RequestLogRecord(createdAt: base, requestID: "big", model: "m", statusCode: 200, costUSD: decimal("12345678.000000000001")))
            logs.append(RequestLogRecord(createdAt: base, requestID: "tiny", model: "m", statusCode: 200, costUSD: decimal("0.000000000001")))
            try store.insertLogs(logs)
            let rows = try store.usage(groupBy: .model, from: nil, to: nil)
            #expect(rows.map(\.costUSD.description) == ["12346128.000000000002"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func usageRefusesBadLabelNames(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            for name in ["", "a b", "x'); DROP TABLE request_logs; --", "a.b", "ä", String(repeating: "a", count: 65)] {
                _ = expectStoreError(.invalid) { try store.usage(groupBy: .label(name), from: nil, to: nil) }
            }
            #expect(try store.usage(groupBy: .label(String(repeating: "a", count: 64)), from: nil, to: nil).isEmpty)
            #expect(try UsageGrouping(queryValue: "label:feature") == .label("feature"))
            #expect(try UsageGrouping(queryValue: "day") == .day)
            _ = expectStoreError(.invalid) { try UsageGrouping(queryValue: "label:") }
            _ = expectStoreError(.invalid) { try UsageGrouping(queryValue: "week") }
        }
    }

    // MARK: - Pricing

    @Test(arguments: StoreKind.allCases)
    func pricingIsSeededAndUpserted(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.openMigrated()
            let seeded = try store.pricing()
            #expect(seeded.count == 30)
            #expect(seeded.map(\.model) == seeded.map(\.model).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            let prices = Dictionary(uniqueKeysWithValues: seeded.map { ($0.model, $0) })
            #expect(
                prices["gpt-4o-mini"]
                    == ModelPrice(
                        model: "gpt-4o-mini", provider: "openai", inputPerMillion: decimal("0.15"),
                        outputPerMillion: decimal("0.60"), cachedInputPerMillion: decimal("0.075")))
            #expect(prices["gpt-4o-mini"]?.inputPerMillion.description == "0.15")
            #expect(
                prices["claude-sonnet-4-5"]
                    == ModelPrice(
                        model: "claude-sonnet-4-5", provider: "anthropic", inputPerMillion: decimal("3"),
                        outputPerMillion: decimal("15"), cachedInputPerMillion: decimal("0.3")))
            #expect(prices["claude-3-5-haiku-latest"]?.cachedInputPerMillion == decimal("0.08"))
            #expect(prices["gemini-2.5-pro"]?.outputPerMillion == decimal("10"))
            #expect(prices["gemini-2.0-flash-lite"]?.cachedInputPerMillion == decimal("0.01875"))
            #expect(Set(seeded.map(\.provider)) == ["openai", "anthropic", "gemini"])

            let custom = ModelPrice(
                model: "my-model", provider: "openai", inputPerMillion: decimal("0.000000001"),
                outputPerMillion: decimal("12345678901.5"), cachedInputPerMillion: nil)
            try store.setPrice(custom)
            var cheaper = prices["gpt-4o-mini"]!
            cheaper.inputPerMillion = decimal("0.12")
            cheaper.cachedInputPerMillion = nil
            try store.setPrice(cheaper)
            let updated = Dictionary(uniqueKeysWithValues: try store.pricing().map { ($0.model, $0) })
            #expect(updated.count == 31)
            #expect(updated["my-model"] == custom)
            #expect(updated["gpt-4o-mini"] == cheaper)

            var tooPrecise = custom
            tooPrecise.inputPerMillion = decimal("0.0000000001")
            _ = expectStoreError(.invalid) { try store.setPrice(tooPrecise) }
            var negative = custom
            negative.outputPerMillion = decimal("-1")
            _ = expectStoreError(.invalid) { try store.setPrice(negative) }
            #expect(try store.pricing().first { $0.model == "my-model" } == custom)
        }
    }

    @Test func bothMigrationsSeedTheSamePrices() throws {
        try withScratchDatabase(.sqlite) { sqlite in
            try withScratchDatabase(.postgres) { postgres in
                let embedded = try sqlite.openMigrated().pricing()
                let server = try postgres.openMigrated().pricing()
                #expect(embedded == server)
                #expect(embedded.count == 30)
            }
        }
    }

    // MARK: - Health, factory, errors

    @Test(arguments: StoreKind.allCases)
    func pingAnswers(kind: StoreKind) throws {
        try withScratchDatabase(kind) { database in
            let store = try database.open()
            try store.ping()
            _ = try store.migrate()
            try store.ping()
        }
    }

    @Test func factoryPicksTheStoreFromDatabaseURL() throws {
        let directory = NSTemporaryDirectory() + "llm0-factory-" + UUID().uuidString.prefix(8) + "/nested/data"
        defer { try? FileManager.default.removeItem(atPath: String(directory.dropLast("/nested/data".count))) }
        let embedded = try makeStore(databaseURL: nil, dataDirectory: directory)
        #expect((embedded as? SQLiteStore)?.path == directory + "/gateway.db")
        #expect(FileManager.default.fileExists(atPath: directory + "/gateway.db"))
        #expect(try embedded.migrate() == ["001"])
        #expect(try makeStore(databaseURL: "", dataDirectory: directory).migrate() == [])

        #expect(try makeStore(databaseURL: "postgres://u:p@127.0.0.1:1/db", dataDirectory: directory) is PostgresStore)
        #expect(try makeStore(databaseURL: "postgresql://u:p@127.0.0.1:1/db", dataDirectory: directory) is PostgresStore)

        for url in ["mysql://root:hunter2secret@db/gateway", "hunter2secret", "sqlite:///var/lib/hunter2secret.db"] {
            let error = expectStoreError(.invalid) { try makeStore(databaseURL: url, dataDirectory: directory) }
            #expect(error?.message.contains("DATABASE_URL") == true)
            #expect(error?.message.contains("hunter2secret") == false)
        }
    }

    @Test func aBadPostgresURLIsUnavailableQuicklyAndKeepsItsPasswordSecret() throws {
        let password = "Sup3r-S3cret-Pw"
        // Nothing listens on port 1: refused at once.
        var urls = ["postgres://llm0:\(password)@127.0.0.1:1/llm0_test"]
        // A real server, a wrong password (percent-encoded in the URL, as it must be).
        let server = try #require(URLComponents(string: try ScratchDatabase.testDatabaseURL()))
        urls.append("postgresql://llm0:\(password)%40x@\(server.host ?? "127.0.0.1"):\(server.port ?? 5432)\(server.path)")
        for url in urls {
            let started = ContinuousClock.now
            let store = try makeStore(databaseURL: url, dataDirectory: NSTemporaryDirectory())
            let error = expectStoreError(.unavailable) { try store.ping() }
            #expect(ContinuousClock.now - started < .seconds(6))
            #expect(error?.message.contains(password) == false, "\(error?.message ?? "")")
            #expect(error?.message.contains("%40x") == false)
            #expect(error?.message.contains("cannot connect") == true)
            // Still unavailable on the next call, not stuck or crashed.
            _ = expectStoreError(.unavailable) { try store.migrate() }
        }
        // A URL libpq cannot parse is invalid, and the message hides the password too.
        let error = expectStoreError(.invalid) {
            try makeStore(databaseURL: "postgres://llm0:\(password)@127.0.0.1/db?nonsense=\(password)", dataDirectory: "")
        }
        #expect(error?.message.contains(password) == false, "\(error?.message ?? "")")
        #expect(
            Set(PostgresConnection.passwords(in: "postgres://u:p%40ss@h/db?sslmode=require&password=two%21"))
                == ["p%40ss", "two%21", "p@ss", "two!"])
    }

    @Test func migrateFindsNothingToDoAfterPsqlApplied() throws {
        try withScratchDatabase(.postgres) { database in
            // What `psql -f migrations/001_initial_schema.sql` does: the file records its own version.
            let admin = try database.open() as! PostgresStore
            try admin.executeAdministrativeSQL(EmbeddedMigrations.postgres[0].sql)
            #expect(try database.open().migrate() == [])
            #expect(try admin.findKey(hash: Self.testKeyHash)?.id == "key_test")
        }
    }

    @Test func postgresReconnectsAfterItsConnectionIsKilled() throws {
        try withScratchDatabase(.postgres) { database in
            let store = try database.openMigrated()
            let killer = try database.open() as! PostgresStore
            // Kill every other session on the scratch database, as a server restart would.
            try killer.executeAdministrativeSQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            // The next call finds the connection gone, resets it once and succeeds.
            #expect(try store.findKey(hash: Self.testKeyHash)?.id == "key_test")
            try store.insertLogs([RequestLogRecord(requestID: "after-reconnect", statusCode: 200)])
            #expect(try store.recentLogs(limit: 1).first?.requestID == "after-reconnect")
        }
    }

    // MARK: - Timestamps and labels

    @Test func timestampsFormatAndParseISO8601() throws {
        #expect(Timestamp(millisecondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: 951_782_400_123).iso8601 == "2000-02-29T00:00:00.123Z")
        // Years outside 0...9999 keep a sign and every digit.
        #expect(Timestamp(millisecondsSinceEpoch: 253_402_300_800_000).iso8601 == "10000-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -62_167_219_200_001).iso8601 == "-0001-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: .max).iso8601 == "292278994-08-17T07:12:55.807Z")
        #expect(Timestamp(millisecondsSinceEpoch: .min).iso8601 == "-292275055-05-16T16:47:04.192Z")
        #expect(Timestamp(millisecondsSinceEpoch: .min).iso8601.utf8.count == Timestamp.maxISO8601Count)
        #expect(timestamp("2025-01-31T12:00:00+02:00").iso8601 == "2025-01-31T10:00:00.000Z")
        #expect(timestamp("2025-01-31 12:00:00.123456+00").iso8601 == "2025-01-31T12:00:00.123Z")
        #expect(timestamp("2025-01-31").iso8601 == "2025-01-31T00:00:00.000Z")
        #expect(timestamp("2025-01-31T12:00:00.5Z").millisecondsSinceEpoch % 1000 == 500)
        for text in ["", "2025-13-01", "2025-02-30", "2025-01-31T12:00:00", "2025-01-31T25:00:00Z", "yesterday", "2025-01-31Tx"] {
            #expect(Timestamp(iso8601: text) == nil, "\(text)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)
            let value = Timestamp(millisecondsSinceEpoch: milliseconds)
            #expect(Timestamp(iso8601: value.iso8601) == value)
        }
    }

    @Test func labelsRoundTripThroughJSONText() throws {
        let labels = ["feature": "a \"b\" \\ c\n✓", "team": "", "z": "\u{1F600}"]
        #expect(try LabelsJSON.decode(LabelsJSON.encode(labels)) == labels)
        #expect(LabelsJSON.encode([:]) == "{}")
        #expect(LabelsJSON.encode(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
        #expect(try LabelsJSON.decode(#"{"n": 5, "ok": true, "s": "x"}"#) == ["n": "5", "ok": "true", "s": "x"])
    }
}
