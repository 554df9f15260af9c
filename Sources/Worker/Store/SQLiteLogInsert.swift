import CSQLite
import Common

/// Writes `request_logs` rows for `SQLiteStore.insertLogs`: the statement the embedded store runs
/// once for every answered request, so its per-row cost is the store thread's CPU under load.
///
/// The store's general `query` path found the statement by hashing its SQL, built a String for
/// each timestamp and amount and an array of values, and had SQLite copy every text. Here the
/// statements are prepared once and kept; a row's texts are written into one reused buffer that
/// SQLite reads in place while the statement steps (`SQLITE_STATIC`); and rows go in groups of
/// `rowsPerGroup` to one multi-row statement, which shares SQLite's per-statement work (opening
/// the table and its four indexes, reading and saving the AUTOINCREMENT counter, halting) among
/// them. SQLite inserts a multi-row VALUES list in its written order, so ids are assigned exactly
/// as row-by-row inserts assign them.
final class SQLiteLogInsert {
    static let parametersPerRow: Int32 = 19
    /// Rows per grouped statement. Measured with callgrind on 1000-row batches: 8 rows save most
    /// of the per-statement work, 32 the rest; 64 is no better, the program only grows with each
    /// row. 32 × 19 = 608 parameters, under even old SQLite's default limit of 999.
    static let rowsPerGroup = 32

    private let db: OpaquePointer
    private let path: String
    /// Inserts `rowsPerGroup` rows; `single` inserts one, for the rest of a batch.
    private let group: OpaquePointer
    private let single: OpaquePointer
    /// The texts of the rows being bound, back to back; the bound statement points into it.
    private var text: UnsafeMutablePointer<UInt8>
    private var textCapacity = 8192
    private var textCount = 0
    /// Where each text parameter lies in `text`. Bound only once every row of the statement is
    /// written, because the buffer may move while it grows.
    private var textParameters: [TextParameter] = []

    private struct TextParameter {
        var index: Int32
        var offset: Int
        var count: Int32
    }

    /// Prepares the statements; `request_logs` must exist (after `migrate`).
    init(db: OpaquePointer, path: String) throws(StoreError) {
        self.db = db
        self.path = path
        single = try Self.prepare(Self.sql(rows: 1), db: db, path: path)
        do {
            group = try Self.prepare(Self.sql(rows: Self.rowsPerGroup), db: db, path: path)
        } catch {
            sqlite3_finalize(single)
            throw error
        }
        text = .allocate(capacity: textCapacity)
        textParameters.reserveCapacity(Int(Self.parametersPerRow) * Self.rowsPerGroup)
    }

    deinit {
        sqlite3_finalize(group)
        sqlite3_finalize(single)
        text.deallocate()
    }

    /// Inserts `logs`, already validated, in order, inside the caller's transaction.
    func insert(_ logs: [RequestLogRecord]) throws(StoreError) {
        // No statement keeps pointers into the buffer once the batch is done, even after a failure.
        defer {
            sqlite3_clear_bindings(group)
            sqlite3_clear_bindings(single)
        }
        var start = logs.startIndex
        while logs.endIndex - start >= Self.rowsPerGroup {
            try run(group, logs[start..<start + Self.rowsPerGroup])
            start += Self.rowsPerGroup
        }
        while start < logs.endIndex {
            try run(single, logs[start..<start + 1])
            start += 1
        }
    }

    /// Binds `rows` to `statement` (which takes exactly that many) and steps it once.
    private func run(_ statement: OpaquePointer, _ rows: ArraySlice<RequestLogRecord>) throws(StoreError) {
        defer { sqlite3_reset(statement) }
        textCount = 0
        textParameters.removeAll(keepingCapacity: true)
        var first: Int32 = 1
        for log in rows {
            try bind(log, from: first, to: statement)
            first += Self.parametersPerRow
        }
        for parameter in textParameters {
            // Same-size signed and unsigned bytes may alias; SQLite takes `char *`.
            let bytes = UnsafeRawPointer(text + parameter.offset).assumingMemoryBound(to: CChar.self)
            let status = csqlite_bind_text_static(statement, parameter.index, bytes, parameter.count)
            if status != SQLITE_OK { throw failure(status) }
        }
        let status = sqlite3_step(statement)
        if status != SQLITE_DONE { throw failure(status) }
    }

    /// Binds one row's numbers and NULLs to parameters `first...first + 18` and writes its texts
    /// into the buffer. Same values as `SQLiteStore` binds elsewhere: texts as UTF-8, booleans as
    /// 0 or 1, the cost as 12-decimal text.
    private func bind(_ log: RequestLogRecord, from first: Int32, to statement: OpaquePointer) throws(StoreError) {
        appendText(at: first, atMost: Timestamp.maxISO8601Count) { log.createdAt.writeISO8601(to: $0) }
        appendText(at: first + 1, log.requestID)
        try bind(log.apiKeyID, at: first + 2, to: statement)
        try bind(log.customerID, at: first + 3, to: statement)
        appendText(at: first + 4, LabelsJSON.encode(log.labels))
        try bind(log.requestedModel, at: first + 5, to: statement)
        try bind(log.model, at: first + 6, to: statement)
        try bind(log.provider, at: first + 7, to: statement)
        try bind(log.statusCode, at: first + 8, to: statement)
        try bind(log.errorType, at: first + 9, to: statement)
        try bind(log.stream ? 1 : 0, at: first + 10, to: statement)
        try bind(log.cacheHit ? 1 : 0, at: first + 11, to: statement)
        try bind(log.attempts, at: first + 12, to: statement)
        try bind(log.promptTokens, at: first + 13, to: statement)
        try bind(log.completionTokens, at: first + 14, to: statement)
        try bind(log.cachedTokens, at: first + 15, to: statement)
        appendText(at: first + 16, atMost: Decimal12.maxFixedTextCount) { log.costUSD.writeFixedText(to: $0) }
        try bind(log.latencyMs, at: first + 17, to: statement)
        try bind(log.ttftMs, at: first + 18, to: statement)
    }

    private func bind(_ value: String?, at index: Int32, to statement: OpaquePointer) throws(StoreError) {
        if let value {
            appendText(at: index, value)
        } else {
            let status = sqlite3_bind_null(statement, index)
            if status != SQLITE_OK { throw failure(status) }
        }
    }

    private func bind(_ value: Int?, at index: Int32, to statement: OpaquePointer) throws(StoreError) {
        let status = value.map { sqlite3_bind_int64(statement, index, Int64($0)) } ?? sqlite3_bind_null(statement, index)
        if status != SQLITE_OK { throw failure(status) }
    }

    private func appendText(at index: Int32, _ value: String) {
        let count = value.utf8.count
        reserve(count)
        _ = UnsafeMutableBufferPointer(start: text + textCount, count: count).initialize(fromContentsOf: value.utf8)
        textParameters.append(TextParameter(index: index, offset: textCount, count: Int32(count)))
        textCount += count
    }

    /// Appends what `write` writes (at most `limit` bytes; it returns how many) as one text.
    private func appendText(at index: Int32, atMost limit: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(limit)
        let count = write(text + textCount)
        textParameters.append(TextParameter(index: index, offset: textCount, count: Int32(count)))
        textCount += count
    }

    private func reserve(_ count: Int) {
        if textCount + count <= textCapacity { return }
        let capacity = max(textCapacity * 2, textCount + count)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.initialize(from: text, count: textCount)
        text.deallocate()
        text = grown
        textCapacity = capacity
    }

    private func failure(_ status: Int32) -> StoreError {
        SQLiteStore.failure(status, db: db, path: path)
    }

    private static func prepare(_ sql: String, db: OpaquePointer, path: String) throws(StoreError) -> OpaquePointer {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw SQLiteStore.failure(status, db: db, path: path) }
        return statement
    }

    /// `INSERT ... VALUES (?1, ..., ?19), (?20, ...)` for `rows` rows.
    private static func sql(rows: Int) -> String {
        let width = Int(parametersPerRow)
        let values = (0..<rows).map { row in
            "(" + (1...width).map { "?\(row * width + $0)" }.joined(separator: ", ") + ")"
        }
        return """
            INSERT INTO request_logs (created_at, request_id, api_key_id, customer_id, labels, requested_model,
                model, provider, status_code, error_type, stream, cache_hit, attempts, prompt_tokens,
                completion_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms)
            VALUES \(values.joined(separator: ", "))
            """
    }
}
