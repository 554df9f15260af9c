import Common

/// The admin API under `/admin/`, on only when ADMIN_TOKEN is set: keys, logs, usage, pricing.
/// The token is compared in constant time; with no token configured the routes do not exist.
@LoopActor
final class AdminHandler {
    private let services: WorkerServices

    init(services: WorkerServices) { self.services = services }

    func handle(_ exchange: HTTPExchange) {
        guard let token = services.config.adminToken else {
            exchange.send(error: .notFound(path: exchange.request.path))
            return
        }
        guard let sent = RequestHeaders.bearerToken(exchange.request), Secrets.constantTimeEqual(sent, token) else {
            exchange.send(
                error: GatewayError(status: 401, type: "authentication_error", code: "invalid_admin_token",
                    message: "The admin API needs 'Authorization: Bearer <ADMIN_TOKEN>'."),
                headers: [("WWW-Authenticate", "Bearer")])
            return
        }
        LoopActor.task { [self] in
            do throws(GatewayError) {
                exchange.send(try await route(exchange.request))
            } catch {
                exchange.send(error: error)
            }
        }
    }

    private func route(_ request: HTTPRequest) async throws(GatewayError) -> HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (request.method, parts.count > 1 ? parts[1] : "", parts.count) {
        case ("POST", "keys", 2): return try await createKey(request)
        case ("GET", "keys", 2): return try await listKeys()
        case ("DELETE", "keys", 3): return try await revokeKey(id: parts[2])
        case ("GET", "logs", 2): return try await logs(QueryString.parse(request.query))
        case ("GET", "usage", 2): return try await usage(QueryString.parse(request.query))
        case ("GET", "pricing", 2): return .json(200, pricingListing().jsonText)
        case ("PUT", "pricing", 3): return try await setPrice(model: QueryString.decode(parts[2][...]) ?? parts[2], request)
        case (_, "keys", 2...3), (_, "logs", 2), (_, "usage", 2), (_, "pricing", 2...3):
            throw GatewayError.methodNotAllowed(request.method, path: request.path, allowed: "the documented method")
        default:
            throw GatewayError.notFound(path: request.path)
        }
    }

    // MARK: - Keys

    private func createKey(_ request: HTTPRequest) async throws(GatewayError) -> HTTPResponse {
        let body = try Self.jsonObject(request.body)
        guard let name = body["name"]?.stringValue else { throw ChatRequest.missing("name") }
        let rpm = try Self.optionalInt(body, "rate_limit_rpm")
        let customer = try Self.optionalString(body, "customer_id")
        try KeyIssuer.validate(name: name, rateLimitRPM: rpm, customerID: customer)
        let (record, plaintext) = KeyIssuer.issue(name: name, rateLimitRPM: rpm, customerID: customer)
        try await store { store throws(StoreError) in try store.insertKey(record) }
        services.logger.info("key created", ["key_id": .string(record.id), "name": .string(name)])
        var json = KeyIssuer.json(record).objectValue!
        json["key"] = .string(plaintext)
        return .json(201, JSONValue.object(json).jsonText)
    }

    private func listKeys() async throws(GatewayError) -> HTTPResponse {
        let keys = try await store { store throws(StoreError) in try store.listKeys() }
        return .json(200, JSONValue.object(JSONObject([("data", .array(keys.map(KeyIssuer.json)))])).jsonText)
    }

    private func revokeKey(id: String) async throws(GatewayError) -> HTTPResponse {
        let revoked = try await store { store throws(StoreError) in try store.revokeKey(id: id) }
        guard revoked else {
            throw GatewayError.invalidRequest("No active key has the id '\(id.prefix(64))'.", code: "key_not_found", status: 404)
        }
        services.logger.info("key revoked", ["key_id": .string(id)])
        return .json(200, JSONValue(dictionaryLiteral: ("id", .string(id)), ("revoked", true)).jsonText)
    }

    // MARK: - Logs and usage

    private func logs(_ query: [String: String]) async throws(GatewayError) -> HTTPResponse {
        let limit = try Self.queryInt(query, "limit", default: 100, range: 1...1000)
        let rows = try await store { store throws(StoreError) in try store.recentLogs(limit: limit) }
        return .json(200, JSONValue.object(JSONObject([("data", .array(rows.map(Self.logJSON)))])).jsonText)
    }

    private func usage(_ query: [String: String]) async throws(GatewayError) -> HTTPResponse {
        guard let groupText = query["group_by"] else { throw ChatRequest.missing("group_by") }
        let grouping: UsageGrouping
        do {
            grouping = try UsageGrouping(queryValue: groupText)
        } catch {
            throw GatewayError.invalidRequest(
                "'group_by' must be model, provider, key, customer, day or label:<name>.", code: "invalid_value",
                param: "group_by")
        }
        let from = try Self.queryTime(query, "from")
        let to = try Self.queryTime(query, "to")
        let rows = try await store { store throws(StoreError) in try store.usage(groupBy: grouping, from: from, to: to) }
        let data: [JSONValue] = rows.map { row in
            [
                "group": row.group.map(JSONValue.string) ?? .null, "requests": .int(row.requests),
                "prompt_tokens": .int(row.promptTokens), "completion_tokens": .int(row.completionTokens),
                "cost_usd": .number(JSONNumber(literal: row.costUSD.description)), "cache_hits": .int(row.cacheHits),
            ]
        }
        return .json(200, JSONValue(dictionaryLiteral: ("data", .array(data))).jsonText)
    }

    static func logJSON(_ row: RequestLogRecord) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return [
            "id": row.id.map { .int(Int($0)) } ?? .null, "created_at": .string(row.createdAt.iso8601),
            "request_id": .string(row.requestID), "api_key_id": text(row.apiKeyID), "customer_id": text(row.customerID),
            "labels": .object(JSONObject(row.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            "requested_model": text(row.requestedModel), "model": text(row.model), "provider": text(row.provider),
            "status_code": .int(row.statusCode), "error_type": text(row.errorType), "stream": .bool(row.stream),
            "cache_hit": .bool(row.cacheHit), "attempts": .int(row.attempts), "prompt_tokens": .int(row.promptTokens),
            "completion_tokens": .int(row.completionTokens), "cached_tokens": .int(row.cachedTokens),
            "cost_usd": .number(JSONNumber(literal: row.costUSD.description)), "latency_ms": .int(row.latencyMs),
            "ttft_ms": row.ttftMs.map(JSONValue.int) ?? .null,
        ]
    }

    // MARK: - Pricing

    private func pricingListing() -> JSONValue {
        let rows: [JSONValue] = services.prices.all.map { price in
            [
                "model": .string(price.model), "provider": .string(price.provider),
                "input_per_million": .number(JSONNumber(literal: price.inputPerMillion.description)),
                "output_per_million": .number(JSONNumber(literal: price.outputPerMillion.description)),
                "cached_input_per_million": price.cachedInputPerMillion.map { .number(JSONNumber(literal: $0.description)) } ?? .null,
            ]
        }
        return JSONValue(dictionaryLiteral: ("data", .array(rows)))
    }

    private func setPrice(model: String, _ request: HTTPRequest) async throws(GatewayError) -> HTTPResponse {
        let body = try Self.jsonObject(request.body)
        let existing = services.prices.price(for: model)
        let provider = try Self.optionalString(body, "provider") ?? existing?.provider
            ?? ProviderID.owning(model: model)?.rawValue
        guard let provider else { throw ChatRequest.missing("provider") }
        guard let input = try Self.decimal(body, "input_per_million") ?? existing?.inputPerMillion else {
            throw ChatRequest.missing("input_per_million")
        }
        guard let output = try Self.decimal(body, "output_per_million") ?? existing?.outputPerMillion else {
            throw ChatRequest.missing("output_per_million")
        }
        let cached = try Self.decimal(body, "cached_input_per_million") ?? existing?.cachedInputPerMillion
        let price = ModelPrice(
            model: model, provider: provider, inputPerMillion: input, outputPerMillion: output, cachedInputPerMillion: cached)
        try await store { store throws(StoreError) in try store.setPrice(price) }
        let rows = try await store { store throws(StoreError) in try store.pricing() }
        services.prices.replace(with: rows)
        return .json(200, pricingListing().jsonText)
    }

    // MARK: - Helpers

    private func store<T: Sendable>(_ work: @escaping @Sendable (any Store) throws(StoreError) -> T) async throws(GatewayError) -> T {
        do {
            return try await services.store.run(work)
        } catch where error.kind == .invalid {
            throw GatewayError.invalidRequest(error.message)
        } catch {
            throw GatewayError.serviceUnavailable("The database is unavailable: \(error.kind.rawValue).", code: "store_unavailable")
        }
    }

    static func jsonObject(_ body: [UInt8]) throws(GatewayError) -> JSONObject {
        guard let value = try? JSONParser.parse(body), case .object(let object) = value else {
            throw GatewayError.invalidRequest("The request body must be a JSON object.", code: "invalid_json")
        }
        return object
    }

    static func optionalInt(_ object: JSONObject, _ field: String) throws(GatewayError) -> Int? {
        guard let value = object[field], !value.isNull else { return nil }
        guard let number = value.intValue else { throw ChatRequest.wrongType(field, "an integer", value) }
        return number
    }

    static func optionalString(_ object: JSONObject, _ field: String) throws(GatewayError) -> String? {
        guard let value = object[field], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw ChatRequest.wrongType(field, "a string", value) }
        return text
    }

    static func decimal(_ object: JSONObject, _ field: String) throws(GatewayError) -> Decimal12? {
        guard let value = object[field], !value.isNull else { return nil }
        let text = value.numberValue?.text ?? value.stringValue
        guard let text, let decimal = Decimal12(text), decimal >= .zero else {
            throw ChatRequest.wrongType(field, "a non-negative decimal number", value)
        }
        return decimal
    }

    static func queryInt(_ query: [String: String], _ name: String, default fallback: Int, range: ClosedRange<Int>)
        throws(GatewayError) -> Int
    {
        guard let text = query[name] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw GatewayError.invalidRequest(
                "'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound).", code: "invalid_value",
                param: name)
        }
        return value
    }

    static func queryTime(_ query: [String: String], _ name: String) throws(GatewayError) -> Timestamp? {
        guard let text = query[name], !text.isEmpty else { return nil }
        if let time = Timestamp(iso8601: text) { return time }
        if text.count == 10, let day = Timestamp(iso8601: text + "T00:00:00Z") { return day }
        throw GatewayError.invalidRequest(
            "'\(name)' must be an ISO-8601 time such as 2026-12-01 or 2026-12-01T10:00:00Z.", code: "invalid_value",
            param: name)
    }
}
