import Common

/// A gateway key as stored: only its SHA-256, never the plaintext.
public struct APIKeyRecord: Sendable, Equatable {
    /// `key_` followed by random characters; the admin API's handle for the key.
    public var id: String
    public var name: String
    /// Lowercase hex SHA-256 of the plaintext key.
    public var keyHash: String
    /// The plaintext's first 12 characters, so a person can recognise the key in a list.
    public var keyPrefix: String
    /// Requests per minute; nil means the gateway's `RATE_LIMIT_RPM`.
    public var rateLimitRPM: Int?
    public var customerID: String?
    public var createdAt: Timestamp
    /// Set once the key is revoked; a revoked key authenticates nothing.
    public var revokedAt: Timestamp?

    public init(
        id: String, name: String, keyHash: String, keyPrefix: String, rateLimitRPM: Int? = nil,
        customerID: String? = nil, createdAt: Timestamp = .now(), revokedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.keyHash = keyHash
        self.keyPrefix = keyPrefix
        self.rateLimitRPM = rateLimitRPM
        self.customerID = customerID
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}

/// One answered request, as a row of `request_logs`.
public struct RequestLogRecord: Sendable, Equatable {
    /// Assigned by the store on insert; nil on a record that was not read back from it.
    public var id: Int64?
    public var createdAt: Timestamp
    public var requestID: String
    public var apiKeyID: String?
    public var customerID: String?
    /// Cost-attribution labels, e.g. `["feature": "search", "team": "growth"]`.
    public var labels: [String: String]
    /// The model the client asked for, as it asked (`anthropic/claude-sonnet-4-5`).
    public var requestedModel: String?
    /// The model that served (after failover), nil when none did.
    public var model: String?
    public var provider: String?
    public var statusCode: Int
    /// OpenAI's error `type` when the request failed.
    public var errorType: String?
    public var stream: Bool
    public var cacheHit: Bool
    /// Upstream attempts made: 0 on a cache hit, more than 1 after failover.
    public var attempts: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var costUSD: Decimal12
    public var latencyMs: Int
    /// Time to the first byte of the answer sent to the client, for streams.
    public var ttftMs: Int?

    public init(
        id: Int64? = nil, createdAt: Timestamp = .now(), requestID: String, apiKeyID: String? = nil,
        customerID: String? = nil, labels: [String: String] = [:], requestedModel: String? = nil,
        model: String? = nil, provider: String? = nil, statusCode: Int, errorType: String? = nil,
        stream: Bool = false, cacheHit: Bool = false, attempts: Int = 0, promptTokens: Int = 0,
        completionTokens: Int = 0, cachedTokens: Int = 0, costUSD: Decimal12 = .zero, latencyMs: Int = 0,
        ttftMs: Int? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.requestID = requestID
        self.apiKeyID = apiKeyID
        self.customerID = customerID
        self.labels = labels
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.statusCode = statusCode
        self.errorType = errorType
        self.stream = stream
        self.cacheHit = cacheHit
        self.attempts = attempts
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.costUSD = costUSD
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
    }
}

/// What `/admin/usage` groups by.
public enum UsageGrouping: Sendable, Equatable, CustomStringConvertible {
    case model
    case provider
    /// By `api_key_id`.
    case key
    case customer
    /// By UTC calendar day, `YYYY-MM-DD`.
    case day
    /// By the value of one label, e.g. `.label("feature")`; requests without it form the nil group.
    case label(String)

    /// Parses the `group_by` query value: `model`, `provider`, `key`, `customer`, `day` or
    /// `label:<name>`.
    public init(queryValue: String) throws(StoreError) {
        switch queryValue {
        case "model": self = .model
        case "provider": self = .provider
        case "key": self = .key
        case "customer": self = .customer
        case "day": self = .day
        case _ where queryValue.hasPrefix("label:"):
            let name = String(queryValue.dropFirst("label:".count))
            try Self.validate(labelName: name)
            self = .label(name)
        default:
            throw .invalid(
                "group_by must be model, provider, key, customer, day or label:<name>, not \(JSONText.quoted(String(queryValue.prefix(80))))"
            )
        }
    }

    public var description: String {
        switch self {
        case .model: "model"
        case .provider: "provider"
        case .key: "key"
        case .customer: "customer"
        case .day: "day"
        case .label(let name): "label:\(name)"
        }
    }

    /// Label names are 1 to 64 of `A-Z a-z 0-9 _ -`. They are still bound as parameters, never
    /// spliced into SQL; the check keeps JSON paths and error messages simple.
    public static func validate(labelName name: String) throws(StoreError) {
        let valid = (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        if !valid {
            throw .invalid(
                "a label name is 1 to 64 characters of A-Z, a-z, 0-9, _ and -, not \(JSONText.quoted(String(name.prefix(80))))"
            )
        }
    }
}

/// One group of `/admin/usage`.
public struct UsageRow: Sendable, Equatable {
    /// The group's value; nil for requests without one (no key, no customer, no such label).
    public var group: String?
    public var requests: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Decimal12
    public var cacheHits: Int

    public init(
        group: String?, requests: Int, promptTokens: Int, completionTokens: Int, costUSD: Decimal12, cacheHits: Int
    ) {
        self.group = group
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
        self.cacheHits = cacheHits
    }
}

/// A row of the price table: USD per 1,000,000 tokens, exact.
public struct ModelPrice: Sendable, Equatable {
    public var model: String
    /// `openai`, `anthropic` or `gemini`.
    public var provider: String
    public var inputPerMillion: Decimal12
    public var outputPerMillion: Decimal12
    /// Price of cached prompt tokens; nil: they cost the input price.
    public var cachedInputPerMillion: Decimal12?

    /// The PostgreSQL columns keep 9 decimal places; a finer price would be rounded, so it is refused.
    public static let maximumFractionDigits = 9

    public init(
        model: String, provider: String, inputPerMillion: Decimal12, outputPerMillion: Decimal12,
        cachedInputPerMillion: Decimal12? = nil
    ) {
        self.model = model
        self.provider = provider
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
    }

    /// Throws `invalid` for what no store should keep: an empty model or provider, a negative
    /// price, more than 9 decimal places, or more than 11 digits before the point.
    func validate() throws(StoreError) {
        if model.isEmpty || provider.isEmpty { throw .invalid("a price needs a model and a provider") }
        if model.utf8.contains(0) || provider.utf8.contains(0) { throw .invalid("model and provider must not contain NUL") }
        let limit = Decimal12(units: 100_000_000_000 * Decimal12.unitsPerWhole)
        for (name, value) in [
            ("input_per_million", inputPerMillion), ("output_per_million", outputPerMillion),
            ("cached_input_per_million", cachedInputPerMillion ?? .zero),
        ] {
            if value < .zero { throw .invalid("\(name) must not be negative") }
            if value >= limit { throw .invalid("\(name) must be below 100000000000") }
            if value.significantFractionDigits > Self.maximumFractionDigits {
                throw .invalid("\(name) has more than \(Self.maximumFractionDigits) decimal places")
            }
        }
    }
}
