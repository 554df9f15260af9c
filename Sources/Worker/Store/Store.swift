import Common

#if canImport(Glibc)
import Glibc
#endif

/// The gateway's database: keys, request logs, usage reports and the price table.
///
/// Two implementations with one behaviour: `SQLiteStore` (embedded, the default) and
/// `PostgresStore` (a fleet), run through the same test suite. Calls are synchronous and blocking;
/// an instance is used from one thread at a time (each worker's store thread), never from the
/// event loop. Several processes may use the same database at once.
public protocol Store: AnyObject {
    /// Applies pending migrations in order; returns the versions applied now (empty when the
    /// schema was already current). Safe when several processes start at once: PostgreSQL takes
    /// an advisory lock, SQLite a write transaction (`BEGIN IMMEDIATE`), and the loser finds the
    /// work done.
    func migrate() throws(StoreError) -> [String]

    /// Returns when the database answers a trivial query; `unavailable` otherwise.
    func ping() throws(StoreError)

    /// The key with this SHA-256 hash (lowercase hex), revoked or not (check `revokedAt`).
    func findKey(hash: String) throws(StoreError) -> APIKeyRecord?

    /// Stores a new key; `constraint` when its id or hash is taken.
    func insertKey(_ key: APIKeyRecord) throws(StoreError)

    /// Every key, revoked ones included, newest first.
    func listKeys() throws(StoreError) -> [APIKeyRecord]

    /// Marks the key revoked now; false if there is no such key or it was already revoked.
    func revokeKey(id: String) throws(StoreError) -> Bool

    /// Appends the records in one transaction: all or none. Their `id`s are ignored (the store
    /// assigns them). `invalid` (and nothing written) when a record does not fit the columns.
    func insertLogs(_ logs: [RequestLogRecord]) throws(StoreError)

    /// The latest `limit` records, newest first (by `createdAt`, then insertion order).
    func recentLogs(limit: Int) throws(StoreError) -> [RequestLogRecord]

    /// Totals per group over the records with `from <= createdAt < to` (either bound optional),
    /// ordered by group (byte order, the nil group last). Costs are summed exactly.
    func usage(groupBy: UsageGrouping, from: Timestamp?, to: Timestamp?) throws(StoreError) -> [UsageRow]

    /// The price table, ordered by model.
    func pricing() throws(StoreError) -> [ModelPrice]

    /// Inserts or replaces the price of `price.model`. `invalid` for a negative price or more
    /// than 9 decimal places.
    func setPrice(_ price: ModelPrice) throws(StoreError)
}

extension RequestLogRecord {
    /// Refuses what the columns cannot hold exactly (PostgreSQL `integer`, `numeric(20,12)`), so a
    /// batch fails up front and the same way on both stores, never half-written or rounded.
    func validate() throws(StoreError) {
        // Every row written passes here, so the checks read the fields in place; the arrays of
        // names and values that the messages need are built only once a check has failed.
        let int32Range = Int(Int32.min)...Int(Int32.max)
        let integersFit = int32Range.contains(statusCode) && int32Range.contains(attempts)
            && int32Range.contains(promptTokens) && int32Range.contains(completionTokens)
            && int32Range.contains(cachedTokens) && int32Range.contains(latencyMs)
            && ttftMs.map { int32Range.contains($0) } != false
        if !integersFit { try checkIntegerRanges() }
        let hasNUL = requestID.containsNUL || apiKeyID?.containsNUL == true || customerID?.containsNUL == true
            || requestedModel?.containsNUL == true || model?.containsNUL == true || provider?.containsNUL == true
            || errorType?.containsNUL == true || labels.contains { $0.key.containsNUL || $0.value.containsNUL }
        if hasNUL {
            throw .invalid("request log \(requestID.prefix(64).filter { $0 != "\0" }): text fields must not contain NUL")
        }
        let costLimit = Decimal12(units: 100_000_000 * Decimal12.unitsPerWhole)
        if costUSD.units.magnitude >= costLimit.units.magnitude {
            throw .invalid("request log \(requestID.prefix(64)): cost_usd \(costUSD) is out of range")
        }
    }

    /// Throws for the first integer field, in column order, that PostgreSQL's `integer` cannot hold.
    private func checkIntegerRanges() throws(StoreError) {
        let int32Range = Int(Int32.min)...Int(Int32.max)
        let integers: [(String, Int?)] = [
            ("status_code", statusCode), ("attempts", attempts), ("prompt_tokens", promptTokens),
            ("completion_tokens", completionTokens), ("cached_tokens", cachedTokens), ("latency_ms", latencyMs),
            ("ttft_ms", ttftMs),
        ]
        for (name, value) in integers {
            if let value, !int32Range.contains(value) {
                throw .invalid("request log \(requestID.prefix(64)): \(name) \(value) is out of range")
            }
        }
    }
}

extension String {
    /// Whether the text holds a NUL byte, which PostgreSQL text cannot. Scans the contiguous UTF-8
    /// bytes with `memchr`: the generic `utf8.contains(0)` steps through the view index by index,
    /// and this runs for every text field of every log row.
    fileprivate var containsNUL: Bool {
        utf8.withContiguousStorageIfAvailable { bytes in
            guard let start = bytes.baseAddress else { return false }
            return memchr(start, 0, bytes.count) != nil
        } ?? utf8.contains(0)
    }
}

extension APIKeyRecord {
    /// Refuses what the columns cannot hold (PostgreSQL text cannot hold NUL, `integer` is 32-bit).
    func validate() throws(StoreError) {
        if id.isEmpty || keyHash.isEmpty { throw .invalid("a key needs an id and a hash") }
        if [id, name, keyHash, keyPrefix, customerID ?? ""].contains(where: { $0.utf8.contains(0) }) {
            throw .invalid("key fields must not contain NUL")
        }
        if let rpm = rateLimitRPM, !(Int(Int32.min)...Int(Int32.max)).contains(rpm) {
            throw .invalid("rate_limit_rpm \(rpm) is out of range")
        }
    }
}

extension Array where Element == UsageRow {
    /// The order both stores return: by group in byte order, the nil group last. Sorting here
    /// rather than in SQL keeps it independent of the database's collation.
    func sortedByGroup() -> [UsageRow] {
        sorted { lhs, rhs in
            switch (lhs.group, rhs.group) {
            case (nil, _): false
            case (_, nil): true
            case (let l?, let r?): l.utf8.lexicographicallyPrecedes(r.utf8)
            }
        }
    }
}
