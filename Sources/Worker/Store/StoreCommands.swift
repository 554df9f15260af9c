import Common

/// What the `gateway` command line does with the store, outside any worker: migrations at start
/// and `gateway migrate`, and `gateway keys create|list|revoke`. Synchronous and short-lived.
public enum StoreCommands {
    /// The test key the migration creates, for trying the gateway out.
    public static let testKey = "gw_test_abc123"

    public static func open(_ config: GatewayConfig) throws(StoreError) -> any Store {
        try makeStore(databaseURL: config.databaseURL, dataDirectory: config.dataDirectory)
    }

    /// Applies pending migrations; returns the versions applied now.
    public static func migrate(_ store: any Store) throws(StoreError) -> [String] { try store.migrate() }

    /// Whether the well-known test key still authenticates.
    public static func isTestKeyActive(_ store: any Store) throws(StoreError) -> Bool {
        guard let record = try store.findKey(hash: Secrets.sha256Hex(testKey)) else { return false }
        return !record.isRevoked
    }

    /// Creates a key; the plaintext is returned once and stored nowhere.
    public static func createKey(
        _ store: any Store, name: String, rateLimitRPM: Int?, customerID: String?
    ) throws -> (record: APIKeyRecord, plaintext: String) {
        try KeyIssuer.validate(name: name, rateLimitRPM: rateLimitRPM, customerID: customerID)
        let issued = KeyIssuer.issue(name: name, rateLimitRPM: rateLimitRPM, customerID: customerID)
        try store.insertKey(issued.record)
        return issued
    }

    /// A key as JSON text for the command line: never its plaintext or hash.
    public static func describe(_ record: APIKeyRecord) -> String { KeyIssuer.json(record).jsonText }
}
