import CSQLite
import Common

/// The embedded store: one SQLite file shared by every worker process of the machine.
///
/// WAL mode lets readers run beside the one writer; `busy_timeout` makes a writer wait up to 5 s
/// for another process's write transaction instead of failing; `synchronous=NORMAL` is durable
/// against process crashes (WAL) and costs one fsync per checkpoint, not per commit. Statements
/// are prepared once per connection and reused. Timestamps are ISO-8601 text, money is exact
/// decimal text (see `migrations/sqlite/001_initial_schema.sql`).
public final class SQLiteStore: Store {
    public let path: String
    private let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    /// The `request_logs` insert, kept apart from `statements`: it runs for every row logged.
    /// Prepared on the first batch, since the table exists only after `migrate`.
    private var logInsert: SQLiteLogInsert?

    /// Opens (creating if needed) the database file at `path`. Its directory must exist.
    public init(path: String) throws(StoreError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw StoreError(Self.kind(of: status), "cannot open SQLite database \(path): \(message)")
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
        do {
            // journal_mode answers with a row; exec ignores it. Switching an existing file to WAL
            // needs a moment alone with it, which the busy timeout above waits for.
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
            try execute("PRAGMA foreign_keys = ON")
            // Each worker holds a connection; SQLite's default page cache (2 MB) fills slowly as
            // request_logs grows and reads as a leak in a long run. Appending log rows touches
            // few pages, so 1 MB is plenty.
            try execute("PRAGMA cache_size = -1024")
            // A multi-row INSERT inside the batch's transaction keeps a statement journal (the
            // pages it changed, so it alone can be undone). On disk that was most of the store's
            // writes: about one page per logged row. In memory it is a few pages per statement.
            try execute("PRAGMA temp_store = MEMORY")
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
    }

    deinit {
        logInsert = nil  // finalizes its statements while the connection is still open
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    // MARK: - Store

    public func migrate() throws(StoreError) -> [String] {
        // BEGIN IMMEDIATE takes the write lock up front: a second process starting at the same
        // moment waits here (busy_timeout) and then sees the versions the first one applied.
        try execute("BEGIN IMMEDIATE")
        do {
            try execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version TEXT PRIMARY KEY,
                    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
                """)
            var applied: Set<String> = []
            try query("SELECT version FROM schema_migrations") { row in applied.insert(row.text(0) ?? "") }
            var appliedNow: [String] = []
            for migration in EmbeddedMigrations.sqlite where !applied.contains(migration.version) {
                try execute(migration.sql, context: "migration \(migration.version)")
                try run("INSERT OR IGNORE INTO schema_migrations (version) VALUES (?1)", [.text(migration.version)])
                appliedNow.append(migration.version)
            }
            try execute("COMMIT")
            return appliedNow
        } catch {
            rollback()
            throw error
        }
    }

    public func ping() throws(StoreError) {
        try query("SELECT 1") { _ in }
    }

    public func findKey(hash: String) throws(StoreError) -> APIKeyRecord? {
        var found: APIKeyRecord?
        try query("SELECT \(Self.keyColumns) FROM api_keys WHERE key_hash = ?1", [.text(hash)]) { (row: SQLiteRow) throws(StoreError) in
            found = try Self.key(from: row)
        }
        return found
    }

    public func insertKey(_ key: APIKeyRecord) throws(StoreError) {
        try key.validate()
        try run(
            """
            INSERT INTO api_keys (id, name, key_hash, key_prefix, rate_limit_rpm, customer_id, created_at, revoked_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """,
            [
                .text(key.id), .text(key.name), .text(key.keyHash), .text(key.keyPrefix),
                .integer(key.rateLimitRPM.map(Int64.init)), .text(key.customerID), .text(key.createdAt.iso8601),
                .text(key.revokedAt?.iso8601),
            ])
    }

    public func listKeys() throws(StoreError) -> [APIKeyRecord] {
        var keys: [APIKeyRecord] = []
        try query("SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at DESC, id DESC") { (row: SQLiteRow) throws(StoreError) in
            keys.append(try Self.key(from: row))
        }
        return keys
    }

    public func revokeKey(id: String) throws(StoreError) -> Bool {
        try run(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            [.text(id), .text(Timestamp.now().iso8601)])
        return sqlite3_changes(db) > 0
    }

    public func insertLogs(_ logs: [RequestLogRecord]) throws(StoreError) {
        if logs.isEmpty { return }
        for log in logs { try log.validate() }
        try execute("BEGIN IMMEDIATE")
        do {
            try preparedLogInsert().insert(logs)
            try execute("COMMIT")
        } catch {
            rollback()
            throw error
        }
    }

    public func recentLogs(limit: Int) throws(StoreError) -> [RequestLogRecord] {
        if limit <= 0 { return [] }
        var logs: [RequestLogRecord] = []
        logs.reserveCapacity(min(limit, 10_000))
        try query(
            """
            SELECT id, created_at, request_id, api_key_id, customer_id, labels, requested_model, model, provider,
                status_code, error_type, stream, cache_hit, attempts, prompt_tokens, completion_tokens, cached_tokens,
                cost_usd, latency_ms, ttft_ms
            FROM request_logs ORDER BY created_at DESC, id DESC LIMIT ?1
            """, [.integer(Int64(limit))]
        ) { (row: SQLiteRow) throws(StoreError) in
            logs.append(
                RequestLogRecord(
                    id: row.int64(0), createdAt: try row.timestamp(1), requestID: row.text(2) ?? "",
                    apiKeyID: row.text(3), customerID: row.text(4), labels: try LabelsJSON.decode(row.text(5) ?? "{}"),
                    requestedModel: row.text(6), model: row.text(7), provider: row.text(8),
                    statusCode: row.int(9) ?? 0, errorType: row.text(10), stream: row.int(11) == 1,
                    cacheHit: row.int(12) == 1, attempts: row.int(13) ?? 0, promptTokens: row.int(14) ?? 0,
                    completionTokens: row.int(15) ?? 0, cachedTokens: row.int(16) ?? 0,
                    costUSD: try row.decimal(17) ?? .zero, latencyMs: row.int(18) ?? 0, ttftMs: row.int(19)))
        }
        return logs
    }

    public func usage(groupBy: UsageGrouping, from: Timestamp?, to: Timestamp?) throws(StoreError) -> [UsageRow] {
        var parameters: [SQLiteValue] = []
        let group: String
        switch groupBy {
        case .model: group = "model"
        case .provider: group = "provider"
        case .key: group = "api_key_id"
        case .customer: group = "customer_id"
        case .day: group = "substr(created_at, 1, 10)"
        case .label(let name):
            try UsageGrouping.validate(labelName: name)
            // A quoted JSON path key, so `-` in a name is a plain character.
            parameters.append(.text("$.\"\(name)\""))
            group = "CAST(json_extract(labels, ?\(parameters.count)) AS TEXT)"
        }
        var conditions: [String] = []
        if let from {
            parameters.append(.text(from.iso8601))
            conditions.append("created_at >= ?\(parameters.count)")
        }
        if let to {
            parameters.append(.text(to.iso8601))
            conditions.append("created_at < ?\(parameters.count)")
        }
        // cost_usd is decimal text. SQLite's SUM would turn it into a float, so it is summed in
        // three integer parts (whole dollars, then two groups of 6 fractional digits) that cannot
        // overflow and are put together exactly in Int128.
        let fraction = "substr(CASE WHEN instr(cost_usd, '.') > 0 THEN substr(cost_usd, instr(cost_usd, '.') + 1) ELSE '' END || '000000000000', 1, 12)"
        let sign = "(CASE WHEN substr(cost_usd, 1, 1) = '-' THEN -1 ELSE 1 END)"
        let sql = """
            SELECT \(group) AS usage_group, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cache_hit),
                sum(CAST(CASE WHEN instr(cost_usd, '.') > 0 THEN substr(cost_usd, 1, instr(cost_usd, '.') - 1) ELSE cost_usd END AS INTEGER)),
                sum(\(sign) * CAST(substr(\(fraction), 1, 6) AS INTEGER)),
                sum(\(sign) * CAST(substr(\(fraction), 7, 6) AS INTEGER))
            FROM request_logs\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            GROUP BY usage_group
            """
        var rows: [UsageRow] = []
        try query(sql, parameters) { row in
            let units = Int128(row.int64(5) ?? 0) * Decimal12.unitsPerWhole + Int128(row.int64(6) ?? 0) * 1_000_000
                + Int128(row.int64(7) ?? 0)
            rows.append(
                UsageRow(
                    group: row.text(0), requests: row.int(1) ?? 0, promptTokens: row.int(2) ?? 0,
                    completionTokens: row.int(3) ?? 0, costUSD: Decimal12(units: units), cacheHits: row.int(4) ?? 0))
        }
        return rows.sortedByGroup()
    }

    public func pricing() throws(StoreError) -> [ModelPrice] {
        var prices: [ModelPrice] = []
        try query(
            """
            SELECT model, provider, input_per_million, output_per_million, cached_input_per_million FROM model_pricing
            """
        ) { (row: SQLiteRow) throws(StoreError) in
            prices.append(
                ModelPrice(
                    model: row.text(0) ?? "", provider: row.text(1) ?? "", inputPerMillion: try row.decimal(2) ?? .zero,
                    outputPerMillion: try row.decimal(3) ?? .zero, cachedInputPerMillion: try row.decimal(4)))
        }
        return prices.sorted { $0.model.utf8.lexicographicallyPrecedes($1.model.utf8) }
    }

    public func setPrice(_ price: ModelPrice) throws(StoreError) {
        try price.validate()
        try run(
            """
            INSERT INTO model_pricing (model, provider, input_per_million, output_per_million, cached_input_per_million, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT (model) DO UPDATE SET provider = excluded.provider,
                input_per_million = excluded.input_per_million, output_per_million = excluded.output_per_million,
                cached_input_per_million = excluded.cached_input_per_million, updated_at = excluded.updated_at
            """,
            [
                .text(price.model), .text(price.provider), .text(price.inputPerMillion.description),
                .text(price.outputPerMillion.description), .text(price.cachedInputPerMillion?.description),
                .text(Timestamp.now().iso8601),
            ])
    }

    // MARK: - Rows

    private static let keyColumns =
        "id, name, key_hash, key_prefix, rate_limit_rpm, customer_id, created_at, revoked_at"

    private static func key(from row: SQLiteRow) throws(StoreError) -> APIKeyRecord {
        APIKeyRecord(
            id: row.text(0) ?? "", name: row.text(1) ?? "", keyHash: row.text(2) ?? "", keyPrefix: row.text(3) ?? "",
            rateLimitRPM: row.int(4), customerID: row.text(5), createdAt: try row.timestamp(6),
            revokedAt: row.isNull(7) ? nil : try row.timestamp(7))
    }

    // MARK: - SQLite plumbing

    /// Runs SQL text that may hold several statements and no parameters (pragmas, DDL,
    /// transactions, migrations). Never used with values.
    private func execute(_ sql: String, context: String? = nil) throws(StoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        if status != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            throw StoreError(Self.kind(of: status), (context.map { "\($0): " } ?? "") + message + " (\(path))")
        }
    }

    private func rollback() {
        if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
    }

    /// Runs one statement that returns no rows.
    private func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(StoreError) {
        try query(sql, parameters) { _ in }
    }

    /// Runs one cached statement, calling `row` for each result row.
    private func query(
        _ sql: String, _ parameters: [SQLiteValue] = [], row handle: (SQLiteRow) throws(StoreError) -> Void
    ) throws(StoreError) {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .text(let text?):
                status = text.utf8.withContiguousStorageIfAvailable { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        csqlite_bind_text_transient(statement, index, $0.baseAddress, Int32($0.count))
                    }
                } ?? csqlite_bind_text_transient(statement, index, text, -1)
            case .integer(let number?): status = sqlite3_bind_int64(statement, index, number)
            case .text(nil), .integer(nil): status = sqlite3_bind_null(statement, index)
            }
            if status != SQLITE_OK { throw failure(status) }
        }
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_ROW {
                try handle(SQLiteRow(statement: statement))
            } else if status == SQLITE_DONE {
                return
            } else {
                throw failure(status)
            }
        }
    }

    private func preparedLogInsert() throws(StoreError) -> SQLiteLogInsert {
        if let logInsert { return logInsert }
        let insert = try SQLiteLogInsert(db: db, path: path)
        logInsert = insert
        return insert
    }

    private func prepared(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ status: Int32) -> StoreError {
        Self.failure(status, db: db, path: path)
    }

    /// The error for a failed call on `db`, with SQLite's message for it.
    static func failure(_ status: Int32, db: OpaquePointer, path: String) -> StoreError {
        StoreError(kind(of: status), "\(String(cString: sqlite3_errmsg(db))) (\(path))")
    }

    /// Busy, locked, I/O, full disk or an unopenable file: try again later. Constraints are the
    /// caller's. The rest (corrupt file, not a database, misuse) is internal.
    private static func kind(of status: Int32) -> StoreError.Kind {
        switch status & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PROTOCOL,
            SQLITE_NOMEM:
            .unavailable
        case SQLITE_CONSTRAINT: .constraint
        case SQLITE_TOOBIG, SQLITE_RANGE, SQLITE_MISMATCH: .invalid
        default: .internal
        }
    }
}

/// A parameter value for a SQLite statement.
private enum SQLiteValue {
    case text(String?)
    case integer(Int64?)
}

/// The current row of a stepping statement; valid only inside the row callback.
private struct SQLiteRow {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String? {
        guard !isNull(column), let bytes = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64? { isNull(column) ? nil : sqlite3_column_int64(statement, column) }
    func int(_ column: Int32) -> Int? { int64(column).map { Int($0) } }

    func timestamp(_ column: Int32) throws(StoreError) -> Timestamp {
        guard let text = text(column), let timestamp = Timestamp(iso8601: text) else {
            throw .internal("a timestamp column holds \(text(column).map { JSONText.quoted(String($0.prefix(40))) } ?? "NULL"), not ISO-8601 text")
        }
        return timestamp
    }

    func decimal(_ column: Int32) throws(StoreError) -> Decimal12? {
        guard let text = text(column) else { return nil }
        guard let value = Decimal12(text) else {
            throw .internal("a money column holds \(JSONText.quoted(String(text.prefix(40)))), not a plain decimal")
        }
        return value
    }
}
