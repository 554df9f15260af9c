import CPostgres

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, opened on first use, with the gateway's rules for it: connect and
/// statement timeouts, TCP keepalives, UTC, no notices on stderr, text-format parameters only, a
/// reset-and-retry-once when the connection turns out to be lost, SQLSTATEs mapped to
/// `StoreError` kinds, and the URL's password scrubbed from every message.
final class PostgresConnection {
    private var handle: OpaquePointer?
    private let keywords: [String]
    private let values: [String]
    /// Texts that must never appear in an error message: the URL's passwords, raw and decoded.
    private let secrets: [String]

    static let statementTimeoutMilliseconds = 10_000

    /// Checks the URL (`postgres://` or `postgresql://`, as libpq takes it) without connecting.
    /// `invalid` when libpq cannot parse it; the message never contains its password.
    init(url: String) throws(StoreError) {
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
            throw .invalid("DATABASE_URL is not a valid PostgreSQL URL: \(scrub(reason.trimmingTrailingWhitespace()))")
        }
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Runs `body` (which calls `execute` and `run`) on a live connection, connecting first if
    /// needed. If it fails because the connection is gone (server restarted, network cut), the
    /// connection is reset once and `body` runs again; a second failure is reported as it is.
    ///
    /// `execute` and `run` never reconnect by themselves: a connection lost inside `body` stays
    /// visibly lost (through its cleanup, say a ROLLBACK) until this method resets it.
    func withRetry<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let handle = try liveHandle()
        do {
            return try body()
        } catch {
            guard PQstatus(handle) == CONNECTION_BAD else { throw error }
            try reset(handle)
            return try body()
        }
    }

    /// Runs SQL text without parameters (session settings, transactions, migrations), which may
    /// hold several statements. Never used with values.
    func execute(_ sql: String, context: String? = nil) throws(StoreError) {
        let handle = try currentHandle()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, handle, context: context)
    }

    /// Runs one statement with text parameters (nil is NULL) and returns its rows as text.
    @discardableResult
    func run(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> [[String?]] {
        let handle = try currentHandle()
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
                PQexecParams(handle, sql, Int32(pointers.count), nil, pointers.baseAddress, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, handle, context: nil)
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

    // MARK: - Connecting

    /// The connection as it is, for calls inside `withRetry`.
    private func currentHandle() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw .unavailable("not connected to PostgreSQL") }
        return handle
    }

    /// The open connection, connecting (or resetting a broken one) first if needed.
    private func liveHandle() throws(StoreError) -> OpaquePointer {
        if let handle {
            if PQstatus(handle) != CONNECTION_OK { try reset(handle) }
            return handle
        }
        let handle = keywords.withCStrings { keywordPointers in
            values.withCStrings { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let handle else { throw .unavailable("cannot connect to PostgreSQL: out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = Self.connectionMessage(handle)
            PQfinish(handle)
            throw .unavailable("cannot connect to PostgreSQL: \(scrub(reason))")
        }
        do {
            try configureSession(handle)
        } catch {
            PQfinish(handle)
            throw error
        }
        self.handle = handle
        return handle
    }

    private func reset(_ handle: OpaquePointer) throws(StoreError) {
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw .unavailable(
                "lost the PostgreSQL connection and could not reconnect: \(scrub(Self.connectionMessage(handle)))")
        }
        try configureSession(handle)
    }

    /// Per-session settings, applied after every connect and reset (a reset starts a new session).
    private func configureSession(_ handle: OpaquePointer) throws(StoreError) {
        // libpq prints server notices ("relation ... already exists, skipping") to stderr by
        // default, which would break the one-JSON-object-per-line log. They carry nothing we need.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        let result = PQexec(
            handle,
            "SET statement_timeout = \(Self.statementTimeoutMilliseconds); SET TimeZone = 'UTC'; SET client_min_messages = warning"
        )
        defer { PQclear(result) }
        try check(result, handle, context: "session setup")
    }

    // MARK: - Errors

    /// Turns a failed result into a StoreError, by SQLSTATE class where there is one.
    private func check(_ result: OpaquePointer?, _ handle: OpaquePointer, context: String?) throws(StoreError) {
        let prefix = context.map { "\($0): " } ?? ""
        guard let result else {
            throw .unavailable(prefix + "PostgreSQL did not answer: \(scrub(Self.connectionMessage(handle)))")
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY { return }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            ?? String(cString: PQresultErrorMessage(result))
        let message = prefix + scrub(primary.trimmingTrailingWhitespace()) + (state.isEmpty ? "" : " (SQLSTATE \(state))")
        if PQstatus(handle) == CONNECTION_BAD { throw .unavailable(message) }
        switch state.prefix(2) {
        case "23": throw .constraint(message)  // integrity constraint violation
        case "22": throw .invalid(message)  // data exception
        // connection, resources, operator intervention (shutdown, statement timeout), transaction
        // rollback (deadlock), lock not available, system error, or no SQLSTATE at all (client side)
        case "08", "53", "57", "40", "55", "58", "": throw .unavailable(message)
        default: throw .internal(message)
        }
    }

    private static func connectionMessage(_ handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            .split(separator: "\n").map { $0.drop { $0.isWhitespace }.trimmingTrailingWhitespace() }
            .joined(separator: "; ")
    }

    /// `text` with every form of the URL's passwords replaced by `***`.
    private func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where !secret.isEmpty {
            text = text.replacingAll(secret, with: "***")
        }
        return text
    }

    /// The passwords a URL holds (`scheme://user:password@host/...` and `?password=...`), each as
    /// written and percent-decoded.
    static func passwords(in url: String) -> [String] {
        var found: [String] = []
        func add(_ raw: Substring) {
            let raw = String(raw)
            guard !raw.isEmpty else { return }
            found.append(raw)
            let decoded = raw.percentDecoded()
            if decoded != raw { found.append(decoded) }
        }
        if let schemeEnd = url.firstRange(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            // The last @ ends the user info: an unencoded @ in a password belongs to it.
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                if let colon = userInfo.firstIndex(of: ":") { add(userInfo[userInfo.index(after: colon)...]) }
            }
        }
        if let question = url.firstIndex(of: "?") {
            for pair in url[url.index(after: question)...].split(separator: "&") where pair.hasPrefix("password=") {
                add(pair.dropFirst("password=".count))
            }
        }
        // Longest first, so a password that contains another is replaced whole.
        return found.sorted { $0.count > $1.count }
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
