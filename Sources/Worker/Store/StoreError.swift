/// Why a store call failed. The kind tells the caller what to do: `unavailable` means try
/// again later (spool the logs, answer /readyz with 503); the others are bugs or bad input that
/// a retry will not fix. The message is for a person and never contains credentials: a
/// DATABASE_URL password is scrubbed from every text that comes back from libpq.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The database cannot be reached: connection refused, lost, timed out, locked too long,
        /// authentication refused, server shutting down.
        case unavailable
        /// A constraint refused the write (a duplicate key id or hash, a NOT NULL column).
        case constraint
        /// The input is not acceptable (a bad URL, label name, price or timestamp).
        case invalid
        /// Anything else: a bug, a schema that is not ours, a corrupt database file.
        case `internal`
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "store \(kind.rawValue): \(message)" }

    public static func unavailable(_ message: String) -> StoreError { StoreError(.unavailable, message) }
    public static func constraint(_ message: String) -> StoreError { StoreError(.constraint, message) }
    public static func invalid(_ message: String) -> StoreError { StoreError(.invalid, message) }
    public static func `internal`(_ message: String) -> StoreError { StoreError(.internal, message) }
}
