import Common

#if canImport(Glibc)
import Glibc
#endif

/// The store `DATABASE_URL` selects: unset (nil or empty), the embedded SQLite database at
/// `dataDirectory/gateway.db` (the directory is created if missing); `postgres://` or
/// `postgresql://`, PostgreSQL. Anything else is `invalid`, naming DATABASE_URL but never echoing
/// it (it may hold a password).
///
/// Does not connect to PostgreSQL: the first call does, so a worker can start while the database
/// is down. Call `ping()` or `migrate()` to find out whether it answers.
public func makeStore(databaseURL: String?, dataDirectory: String) throws(StoreError) -> Store {
    guard let url = databaseURL, !url.isEmpty else {
        try createDirectory(dataDirectory)
        let directory = dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
        return try SQLiteStore(path: (directory.isEmpty ? "" : directory + "/") + "gateway.db")
    }
    guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
        let scheme = url.firstRange(of: "://").map { String(url[..<$0.lowerBound].prefix(20)) }
        throw .invalid(
            "DATABASE_URL must start with postgres:// or postgresql:// (or be unset for the embedded SQLite store)"
                + (scheme.map { "; got a \($0):// URL" } ?? ""))
    }
    return try PostgresStore(url: url)
}

/// `mkdir -p`, with the reason when it fails.
private func createDirectory(_ path: String) throws(StoreError) {
    if path.isEmpty { return }
    if let reason = FileSystem.makeDirectories(path) { throw .unavailable("data directory: \(reason)") }
    var info = stat()
    if stat(path, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
        throw .unavailable("GATEWAY_DATA_DIR \(path) is not a directory")
    }
}
