import Common

/// The authenticated identity of a request.
struct ClientIdentity: Sendable, Equatable {
    var keyID: String
    var keyName: String
    var customerID: String?
    var rateLimitRPM: Int?
}

/// Looks gateway keys up by their SHA-256, through a per-worker cache in front of the store, so
/// no request pays a database round trip. Entries live `ttl` at most, which is how a revocation
/// reaches every worker: within `ttl` plus one lookup. Concurrent lookups of one key share one
/// store call.
@LoopActor
final class KeyCache {
    private struct Entry {
        var identity: ClientIdentity?
        var expires: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var pending: [String: [CheckedContinuation<Result<ClientIdentity?, StoreError>, Never>]] = [:]
    private let store: StoreThread
    private let loop: EventLoop
    /// Revocations take effect within this (plus one store round trip).
    let ttl: UInt64 = 4_000_000_000
    /// Cached misses protect the store from floods of made-up keys, within this bound.
    let maxEntries = 100_000

    init(store: StoreThread, loop: EventLoop) {
        self.store = store
        self.loop = loop
    }

    /// The identity for `plaintext`, or nil for an unknown or revoked key.
    func identity(forKey plaintext: String) async -> Result<ClientIdentity?, StoreError> {
        let hash = Secrets.sha256Hex(plaintext)
        if let entry = entries[hash], entry.expires > loop.now { return .success(entry.identity) }
        if pending[hash] != nil {
            return await withCheckedContinuation { continuation in
                // The lookup under way may have finished while this task was entering here.
                if pending[hash] != nil {
                    pending[hash]!.append(continuation)
                } else if let entry = entries[hash] {
                    continuation.resume(returning: .success(entry.identity))
                } else {
                    continuation.resume(returning: .failure(.unavailable("the key lookup failed")))
                }
            }
        }
        pending[hash] = []
        let result: Result<ClientIdentity?, StoreError>
        do {
            let record = try await store.run { store throws(StoreError) in try store.findKey(hash: hash) }
            let identity = record.flatMap { record -> ClientIdentity? in
                record.isRevoked
                    ? nil
                    : ClientIdentity(
                        keyID: record.id, keyName: record.name, customerID: record.customerID,
                        rateLimitRPM: record.rateLimitRPM)
            }
            if entries.count >= maxEntries { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(identity: identity, expires: loop.now + ttl)
            result = .success(identity)
        } catch {
            // The database is down: a key this worker knew keeps working (availability wins
            // over a revocation that could not be read anyway); unknown keys cannot be checked.
            if let stale = entries[hash] {
                entries[hash]?.expires = loop.now + ttl
                result = .success(stale.identity)
            } else {
                result = .failure(error)
            }
        }
        for waiter in pending.removeValue(forKey: hash) ?? [] { waiter.resume(returning: result) }
        return result
    }

    /// Forgets a key at once in this worker (the admin API revoked it here).
    func forget(hash: String) { entries[hash] = nil }
}
