import CPostgres
import Common

#if canImport(Glibc)
import Glibc
#endif

/// The server store: PostgreSQL through libpq, one connection per instance.
///
/// Every value travels as a text-format parameter of `PQexecParams`; nothing is spliced into SQL.
/// The connection is opened on first use (so a worker starts while the database is down), and a
/// call that finds it lost resets it once and retries before reporting `unavailable`. Nothing
/// waits forever: connecting gives up after 5 s, statements after 10 s (`statement_timeout`),
/// and TCP keepalives notice a server that vanished without a word.
public final class PostgresStore: Store {
    private var connection: OpaquePointer?
    private let keywords: [String]
    private let values: [String]
    /// Texts that must never appear in an error message: the URL's password, raw and decoded.
    private let secrets: [String]

    /// A `pg_advisory_lock` key of our own ("llm0" in ASCII), held while migrating.
    static let migrationLockKey: Int64 = 0x6C6C_6D30
    static let statementTimeoutMilliseconds = 10_000
    /// Migrations may rewrite big tables; they get longer than ordinary statements.
    static let migrationStatementTimeoutMilliseconds = 300_000

    /// Checks the URL (`postgres://` or `postgresql://`, as libpq takes it) without connecting.
    /// `invalid` when libpq cannot parse it; the message never contains its password.
    public init(url: String) throws(StoreError) {
        secrets = Self.passwords(in: url)
        // Defaults first, then the URL (libpq's expand_dbname): anything the URL sets, say
        // ?connect_timeout=2, wins over these.
        keywords = [
            "connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout", "dbname",
        ]
        values = ["5", "llm0-gateway", "1", "10", "5", "3", "15000", url]
        var parseError: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(url, &parseError) {
            PQconninfoFree(options)
        } else {
            let reason = parseError.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(parseError)
            throw .invalid("DATABASE_URL is not a valid PostgreSQL URL: \(scrub(reason))")
        }
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    // MARK: - Store

    public func migrate() throws(StoreError) -> [String] {
        try withConnection { (connection: OpaquePointer) throws(StoreError) -> [String] in
            try self.execute(connection, "SET statement_timeout = \(Self.migrationStatementTimeoutMilliseconds)")
            defer { _ = try? self.execute(connection, "SET statement_timeout = \(Self.statementTimeoutMilliseconds)") }
            // The lock is per session and PostgreSQL drops it if we die, so a crashed migrator
            // never blocks the next one. Everyone else waits here, then finds the work done.
            try self.run(connection, "SELECT pg_advisory_lock($1)", [String(Self.migrationLockKey)])
            defer { _ = try? self.run(connection, "SELECT pg_advisory_unlock($1)", [String(Self.migrationLockKey)]) }
            try self.execute(
                connection,
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            let applied = Set(try self.run(connection, "SELECT version FROM schema_migrations").map { $0[0] ?? "" })
            var appliedNow: [String] = []
            for migration in EmbeddedMigrations.postgres where !applied.contains(migration.version) {
                // The file is one transaction (BEGIN ... COMMIT) that records its own version,
                // so it runs as is, exactly as `psql -f` runs it.
                do throws(StoreError) {
                    try self.execute(connection, migration.sql, context: "migration \(migration.version)")
                } catch {
                    _ = try? self.execute(connection, "ROLLBACK")
                    throw error
                }
                try self.run(
                    connection, "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING",
                    [migration.version])
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
    }

    public func ping() throws(StoreError) {
        try withConnection { (connection: OpaquePointer) throws(StoreError) in
            _ = try self.run(connection, "SELECT 1")
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
        try withConnection { (connection: OpaquePointer) throws(StoreError) in
            let chunks = stride(from: 0, to: logs.count, by: Self.logRowsPerStatement).map {
                logs[$0..<min($0 + Self.logRowsPerStatement, logs.count)]
            }
            // One statement is atomic by itself; several need a transaction to be all or none.
            if chunks.count > 1 { try self.execute(connection, "BEGIN") }
            do throws(StoreError) {
                for chunk in chunks { try self.insertLogRows(connection, chunk) }
                if chunks.count > 1 { try self.execute(connection, "COMMIT") }
            } catch {
                if chunks.count > 1 { _ = try? self.execute(connection, "ROLLBACK") }
                throw error
            }
        }
    }

    private func insertLogRows(_ connection: OpaquePointer, _ logs: ArraySlice<RequestLogRecord>) throws(StoreError) {
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
        try run(connection, sql, parameters)
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
        try withConnection { (connection: OpaquePointer) throws(StoreError) in try self.execute(connection, sql) }
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

    // MARK: - libpq plumbing

    /// One parameterized statement on the connection, with the reconnect-once rule.
    @discardableResult
    private func query(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> [[String?]] {
        try withConnection { (connection: OpaquePointer) throws(StoreError) -> [[String?]] in
            try self.run(connection, sql, parameters)
        }
    }

    /// Runs `body` on a live connection. If it fails because the connection is gone (server
    /// restarted, network cut), the connection is reset once and `body` runs again; a second
    /// failure is reported as it is.
    private func withConnection<T>(_ body: (OpaquePointer) throws(StoreError) -> T) throws(StoreError) -> T {
        let connection = try liveConnection()
        do {
            return try body(connection)
        } catch {
            guard PQstatus(connection) == CONNECTION_BAD else { throw error }
            try reset(connection)
            return try body(connection)
        }
    }

    /// The open connection, connecting (or resetting a broken one) first if needed.
    private func liveConnection() throws(StoreError) -> OpaquePointer {
        if let connection {
            if PQstatus(connection) != CONNECTION_OK { try reset(connection) }
            return connection
        }
        let connection = keywords.withCStrings { keywordPointers in
            values.withCStrings { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let connection else { throw .unavailable("cannot connect to PostgreSQL: out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.connectionMessage(connection)
            PQfinish(connection)
            throw .unavailable("cannot connect to PostgreSQL: \(scrub(reason))")
        }
        do {
            try configureSession(connection)
        } catch {
            PQfinish(connection)
            throw error
        }
        self.connection = connection
        return connection
    }

    private func reset(_ connection: OpaquePointer) throws(StoreError) {
        PQreset(connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            throw .unavailable("lost the PostgreSQL connection and could not reconnect: \(scrub(Self.connectionMessage(connection)))")
        }
        try configureSession(connection)
    }

    /// Per-session settings, applied after every connect and reset (a reset starts a new session).
    private func configureSession(_ connection: OpaquePointer) throws(StoreError) {
        try execute(connection, "SET statement_timeout = \(Self.statementTimeoutMilliseconds); SET TimeZone = 'UTC'")
    }

    /// Runs SQL text without parameters (session settings, transactions, migrations), which may
    /// hold several statements. Never used with values.
    private func execute(_ connection: OpaquePointer, _ sql: String, context: String? = nil) throws(StoreError) {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try check(result, connection, context: context)
    }

    /// Runs one statement with text parameters (nil is NULL) and returns its rows as text.
    @discardableResult
    private func run(_ connection: OpaquePointer, _ sql: String, _ parameters: [String?] = []) throws(StoreError)
        -> [[String?]]
    {
        var copies: [UnsafeMutablePointer<CChar>?] = []
        copies.reserveCapacity(parameters.count)
        defer { for copy in copies { free(copy) } }
        for parameter in parameters {
            guard let parameter else {
                copies.append(nil)
                continue
            }
            if parameter.utf8.contains(0) { throw .invalid("a text value contains NUL, which PostgreSQL cannot store") }
            copies.append(strdup(parameter))
        }
        let result = copies.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { pointers in
                PQexecParams(connection, sql, Int32(pointers.count), nil, pointers.baseAddress, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, connection, context: nil)
        guard let result, PQresultStatus(result) == PGRES_TUPLES_OK else { return [] }
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var fields: [String?] = []
            fields.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    fields.append(nil)
                } else {
                    fields.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            rows.append(fields)
        }
        return rows
    }

    /// Turns a failed result into a StoreError, by SQLSTATE class where there is one.
    private func check(_ result: OpaquePointer?, _ connection: OpaquePointer, context: String?) throws(StoreError) {
        let prefix = context.map { "\($0): " } ?? ""
        guard let result else {
            throw .unavailable(prefix + "PostgreSQL did not answer: \(scrub(Self.connectionMessage(connection)))")
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY { return }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            ?? String(cString: PQresultErrorMessage(result))
        let message = prefix + scrub(primary.trimmingTrailingWhitespace()) + (state.isEmpty ? "" : " (SQLSTATE \(state))")
        if PQstatus(connection) == CONNECTION_BAD { throw .unavailable(message) }
        switch state.prefix(2) {
        case "23": throw .constraint(message)
        case "22": throw .invalid(message)
        case "08", "53", "57", "40", "55", "58", "": throw .unavailable(message)  // connection, resources, shutdown, timeout, lock
        default: throw .internal(message)
        }
    }

    private static func connectionMessage(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingTrailingWhitespace()
            .split(separator: "\n").map { $0.trimmingTrailingWhitespace() }.joined(separator: "; ")
    }

    /// `text` with every form of the URL's password replaced by `***`.
    private func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where !secret.isEmpty {
            text = text.replacingAll(secret, with: "***")
        }
        return text
    }

    /// The password of a `scheme://user:password@host/...` URL, as written and percent-decoded.
    static func passwords(in url: String) -> [String] {
        guard let schemeEnd = url.firstRange(of: "://") else { return [] }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // The last @ ends the user info: an unencoded @ in a password belongs to it.
        guard let at = authority.lastIndex(of: "@") else { return [] }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return [] }
        let raw = String(userInfo[userInfo.index(after: colon)...])
        let decoded = raw.percentDecoded()
        return decoded == raw ? [raw] : [raw, decoded]
    }
}

extension Array where Element == String {
    /// Calls `body` with a NULL-terminated array of C strings that live for the call.
    fileprivate func withCStrings<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = map { strdup($0) } + [nil]
        defer { for copy in copies { free(copy) } }
        return copies.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension StringProtocol {
    fileprivate func trimmingTrailingWhitespace() -> String {
        var text = String(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    fileprivate func percentDecoded() -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(self.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let value = UInt8(String(decoding: utf8[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
