import Common

/// The server store: PostgreSQL through libpq, one connection per instance.
///
/// Every value travels as a text-format parameter of `PQexecParams`; nothing is spliced into SQL.
/// The connection is opened on first use (so a worker starts while the database is down), and a
/// call that finds it lost resets it once and retries before reporting `unavailable`. Nothing
/// waits forever: connecting gives up after 5 s, statements after 10 s (`statement_timeout`),
/// and TCP keepalives notice a server that vanished without a word.
public final class PostgresStore: Store {
    private let connection: PostgresConnection

    /// A `pg_advisory_lock` key of our own ("llm0" in ASCII), held while migrating.
    static let migrationLockKey: Int64 = 0x6C6C_6D30
    /// Migrations may rewrite big tables; they get longer than ordinary statements.
    static let migrationStatementTimeoutMilliseconds = 300_000

    /// Checks the URL (`postgres://` or `postgresql://`, as libpq takes it) without connecting.
    /// `invalid` when libpq cannot parse it; the message never contains its password.
    public init(url: String) throws(StoreError) {
        connection = try PostgresConnection(url: url)
    }

    // MARK: - Store

    public func migrate() throws(StoreError) -> [String] {
        try connection.withRetry { () throws(StoreError) -> [String] in
            try self.connection.execute("SET statement_timeout = \(Self.migrationStatementTimeoutMilliseconds)")
            defer { _ = try? self.connection.execute("SET statement_timeout = \(PostgresConnection.statementTimeoutMilliseconds)") }
            // The lock is per session and PostgreSQL drops it if we die, so a crashed migrator
            // never blocks the next one. Everyone else waits here, then finds the work done.
            try self.connection.run("SELECT pg_advisory_lock($1)", [String(Self.migrationLockKey)])
            defer { _ = try? self.connection.run("SELECT pg_advisory_unlock($1)", [String(Self.migrationLockKey)]) }
            try self.connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            let applied = Set(try self.connection.run("SELECT version FROM schema_migrations").map { $0[0] ?? "" })
            var appliedNow: [String] = []
            for migration in EmbeddedMigrations.postgres where !applied.contains(migration.version) {
                // The file is one transaction (BEGIN ... COMMIT) that records its own version,
                // so it runs as is, exactly as `psql -f` runs it.
                do throws(StoreError) {
                    try self.connection.execute(migration.sql, context: "migration \(migration.version)")
                } catch {
                    _ = try? self.connection.execute("ROLLBACK")
                    throw error
                }
                try self.connection.run(
                    "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING",
                    [migration.version])
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
    }

    public func ping() throws(StoreError) {
        try connection.withRetry { () throws(StoreError) in
            _ = try self.connection.run("SELECT 1")
        }
    }

    public func findKey(hash: String) throws(StoreError) -> APIKeyRecord? {
        let rows = try query("SELECT \(Self.keyColumns) FROM api_keys WHERE key_hash = $1", [hash])
        return try rows.first.map(Self.key(from:))
    }

    public func insertKey(_ key: APIKeyRecord) throws(StoreError) {
        try key.validate()
        try query(
            """
            INSERT INTO api_keys (id, name, key_hash, key_prefix, rate_limit_rpm, customer_id, created_at, revoked_at)
            VALUES ($1, $2, $3, $4, $5::integer, $6, $7::timestamptz, $8::timestamptz)
            """,
            [
                key.id, key.name, key.keyHash, key.keyPrefix, key.rateLimitRPM.map(String.init), key.customerID,
                key.createdAt.iso8601, key.revokedAt?.iso8601,
            ])
    }

    public func listKeys() throws(StoreError) -> [APIKeyRecord] {
        var keys: [APIKeyRecord] = []
        for row in try query("SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at DESC, id DESC") {
            keys.append(try Self.key(from: row))
        }
        return keys
    }

    public func revokeKey(id: String) throws(StoreError) -> Bool {
        let rows = try query(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id", [id])
        return !rows.isEmpty
    }

    /// Rows per INSERT statement: 19 parameters each keeps a statement far below PostgreSQL's
    /// 65,535-parameter limit.
    static let logRowsPerStatement = 1000

    public func insertLogs(_ logs: [RequestLogRecord]) throws(StoreError) {
        if logs.isEmpty { return }
        for log in logs { try log.validate() }
        try connection.withRetry { () throws(StoreError) in
            let chunks = stride(from: 0, to: logs.count, by: Self.logRowsPerStatement).map {
                logs[$0..<min($0 + Self.logRowsPerStatement, logs.count)]
            }
            // One statement is atomic by itself; several need a transaction to be all or none.
            if chunks.count > 1 { try self.connection.execute("BEGIN") }
            do throws(StoreError) {
                for chunk in chunks { try self.insertLogRows(chunk) }
                if chunks.count > 1 { try self.connection.execute("COMMIT") }
            } catch {
                if chunks.count > 1 { _ = try? self.connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    private func insertLogRows(_ logs: ArraySlice<RequestLogRecord>) throws(StoreError) {
        var sql = """
            INSERT INTO request_logs (created_at, request_id, api_key_id, customer_id, labels, requested_model, model,
                provider, status_code, error_type, stream, cache_hit, attempts, prompt_tokens, completion_tokens,
                cached_tokens, cost_usd, latency_ms, ttft_ms) VALUES
            """
        var parameters: [String?] = []
        parameters.reserveCapacity(logs.count * 19)
        for (index, log) in logs.enumerated() {
            let n = index * 19
            if index > 0 { sql += "," }
            sql += "\n($\(n + 1)::timestamptz, $\(n + 2), $\(n + 3), $\(n + 4), $\(n + 5)::jsonb, $\(n + 6), $\(n + 7), "
            sql += "$\(n + 8), $\(n + 9)::integer, $\(n + 10), $\(n + 11)::boolean, $\(n + 12)::boolean, "
            sql += "$\(n + 13)::integer, $\(n + 14)::integer, $\(n + 15)::integer, $\(n + 16)::integer, "
            sql += "$\(n + 17)::numeric, $\(n + 18)::integer, $\(n + 19)::integer)"
            parameters += [
                log.createdAt.iso8601, log.requestID, log.apiKeyID, log.customerID, LabelsJSON.encode(log.labels),
                log.requestedModel, log.model, log.provider, String(log.statusCode), log.errorType,
                log.stream ? "true" : "false", log.cacheHit ? "true" : "false", String(log.attempts),
                String(log.promptTokens), String(log.completionTokens), String(log.cachedTokens),
                log.costUSD.description, String(log.latencyMs), log.ttftMs.map(String.init),
            ]
        }
        try connection.run(sql, parameters)
    }

    public func recentLogs(limit: Int) throws(StoreError) -> [RequestLogRecord] {
        if limit <= 0 { return [] }
        let rows = try query(
            """
            SELECT id, \(Self.milliseconds("created_at")), request_id, api_key_id, customer_id, labels::text,
                requested_model, model, provider, status_code, error_type, stream, cache_hit, attempts, prompt_tokens,
                completion_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms
            FROM request_logs ORDER BY created_at DESC, id DESC LIMIT $1::bigint
            """, [String(limit)])
        var logs: [RequestLogRecord] = []
        logs.reserveCapacity(rows.count)
        for row in rows {
            logs.append(
                RequestLogRecord(
                    id: row[0].flatMap { Int64($0) }, createdAt: try Self.timestamp(row[1]), requestID: row[2] ?? "",
                    apiKeyID: row[3], customerID: row[4], labels: try LabelsJSON.decode(row[5] ?? "{}"),
                    requestedModel: row[6], model: row[7], provider: row[8], statusCode: Self.int(row[9]),
                    errorType: row[10], stream: row[11] == "t", cacheHit: row[12] == "t", attempts: Self.int(row[13]),
                    promptTokens: Self.int(row[14]), completionTokens: Self.int(row[15]),
                    cachedTokens: Self.int(row[16]), costUSD: try Self.decimal(row[17]) ?? .zero,
                    latencyMs: Self.int(row[18]), ttftMs: row[19].flatMap { Int($0) }))
        }
        return logs
    }

    public func usage(groupBy: UsageGrouping, from: Timestamp?, to: Timestamp?) throws(StoreError) -> [UsageRow] {
        var parameters: [String?] = []
        let group: String
        switch groupBy {
        case .model: group = "model"
        case .provider: group = "provider"
        case .key: group = "api_key_id"
        case .customer: group = "customer_id"
        case .day: group = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        case .label(let name):
            try UsageGrouping.validate(labelName: name)
            parameters.append(name)
            group = "labels ->> $\(parameters.count)::text"
        }
        var conditions: [String] = []
        if let from {
            parameters.append(from.iso8601)
            conditions.append("created_at >= $\(parameters.count)::timestamptz")
        }
        if let to {
            parameters.append(to.iso8601)
            conditions.append("created_at < $\(parameters.count)::timestamptz")
        }
        let rows = try query(
            """
            SELECT \(group), count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cache_hit)
            FROM request_logs\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            GROUP BY 1
            """, parameters)
        var usage: [UsageRow] = []
        for row in rows {
            usage.append(
                UsageRow(
                    group: row[0], requests: Self.int(row[1]), promptTokens: Self.int(row[2]),
                    completionTokens: Self.int(row[3]), costUSD: try Self.decimal(row[4]) ?? .zero,
                    cacheHits: Self.int(row[5])))
        }
        return usage.sortedByGroup()
    }

    public func pricing() throws(StoreError) -> [ModelPrice] {
        var prices: [ModelPrice] = []
        for row in try query(
            "SELECT model, provider, input_per_million, output_per_million, cached_input_per_million FROM model_pricing")
        {
            prices.append(
                ModelPrice(
                    model: row[0] ?? "", provider: row[1] ?? "", inputPerMillion: try Self.decimal(row[2]) ?? .zero,
                    outputPerMillion: try Self.decimal(row[3]) ?? .zero, cachedInputPerMillion: try Self.decimal(row[4])))
        }
        return prices.sorted { $0.model.utf8.lexicographicallyPrecedes($1.model.utf8) }
    }

    public func setPrice(_ price: ModelPrice) throws(StoreError) {
        try price.validate()
        try query(
            """
            INSERT INTO model_pricing (model, provider, input_per_million, output_per_million, cached_input_per_million, updated_at)
            VALUES ($1, $2, $3::numeric, $4::numeric, $5::numeric, now())
            ON CONFLICT (model) DO UPDATE SET provider = excluded.provider,
                input_per_million = excluded.input_per_million, output_per_million = excluded.output_per_million,
                cached_input_per_million = excluded.cached_input_per_million, updated_at = excluded.updated_at
            """,
            [
                price.model, price.provider, price.inputPerMillion.description, price.outputPerMillion.description,
                price.cachedInputPerMillion?.description,
            ])
    }

    /// Runs SQL without parameters, for tests that create and drop scratch databases.
    func executeAdministrativeSQL(_ sql: String) throws(StoreError) {
        try connection.withRetry { () throws(StoreError) in try self.connection.execute(sql) }
    }

    // MARK: - Rows

    private static let keyColumns = """
        id, name, key_hash, key_prefix, rate_limit_rpm, customer_id, \(milliseconds("created_at")), \
        \(milliseconds("revoked_at"))
        """

    /// Milliseconds since the epoch of a timestamptz column, exact (truncated to milliseconds
    /// before the epoch is taken, so a floating-point EXTRACT on old servers cannot be off by one).
    private static func milliseconds(_ column: String) -> String {
        "round(extract(epoch FROM date_trunc('milliseconds', \(column))) * 1000)::bigint"
    }

    private static func key(from row: [String?]) throws(StoreError) -> APIKeyRecord {
        APIKeyRecord(
            id: row[0] ?? "", name: row[1] ?? "", keyHash: row[2] ?? "", keyPrefix: row[3] ?? "",
            rateLimitRPM: row[4].flatMap { Int($0) }, customerID: row[5], createdAt: try timestamp(row[6]),
            revokedAt: row[7] == nil ? nil : try timestamp(row[7]))
    }

    private static func timestamp(_ text: String?) throws(StoreError) -> Timestamp {
        guard let text, let milliseconds = Int64(text) else { throw .internal("a timestamp column is NULL or not a number") }
        return Timestamp(millisecondsSinceEpoch: milliseconds)
    }

    private static func int(_ text: String?) -> Int { text.flatMap { Int($0) } ?? 0 }

    private static func decimal(_ text: String?) throws(StoreError) -> Decimal12? {
        guard let text else { return nil }
        guard let value = Decimal12(text) else {
            throw .internal("a numeric column holds \(JSONText.quoted(String(text.prefix(40)))), more than 12 decimal places")
        }
        return value
    }

    /// One parameterized statement, with the connection's reconnect-once rule.
    @discardableResult
    private func query(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> [[String?]] {
        try connection.withRetry { () throws(StoreError) -> [[String?]] in try self.connection.run(sql, parameters) }
    }
}
