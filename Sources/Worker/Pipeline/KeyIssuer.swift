import Common

/// Makes new gateway keys: the plaintext is shown once; only its hash is stored.
enum KeyIssuer {
    static func issue(name: String, rateLimitRPM: Int?, customerID: String?) -> (record: APIKeyRecord, plaintext: String) {
        let plaintext = Secrets.newGatewayKey()
        let record = APIKeyRecord(
            id: "key_" + Secrets.randomHex(bytes: 12), name: name, keyHash: Secrets.sha256Hex(plaintext),
            keyPrefix: String(plaintext.prefix(12)), rateLimitRPM: rateLimitRPM, customerID: customerID)
        return (record, plaintext)
    }

    /// Checks the fields a key is created with; the message names the field at fault.
    static func validate(name: String, rateLimitRPM: Int?, customerID: String?) throws(GatewayError) {
        guard !name.isEmpty, name.count <= 200 else {
            throw .invalidRequest("'name' must be 1 to 200 characters.", code: "invalid_value", param: "name")
        }
        if let rpm = rateLimitRPM, rpm < 1 || rpm > 1_000_000_000 {
            throw .invalidRequest("'rate_limit_rpm' must be from 1 to 1000000000.", code: "invalid_value", param: "rate_limit_rpm")
        }
        if let customer = customerID, customer.isEmpty || customer.count > 128 {
            throw .invalidRequest("'customer_id' must be 1 to 128 characters.", code: "invalid_value", param: "customer_id")
        }
    }

    /// A key as the admin API and the CLI show it: never the plaintext or the hash.
    static func json(_ record: APIKeyRecord) -> JSONValue {
        [
            "id": .string(record.id), "name": .string(record.name), "key_prefix": .string(record.keyPrefix),
            "rate_limit_rpm": record.rateLimitRPM.map(JSONValue.int) ?? .null,
            "customer_id": record.customerID.map(JSONValue.string) ?? .null,
            "created_at": .string(record.createdAt.iso8601),
            "revoked_at": record.revokedAt.map { .string($0.iso8601) } ?? .null,
        ]
    }
}
