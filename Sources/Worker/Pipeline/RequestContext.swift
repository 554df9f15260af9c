import Common

/// What the pipeline knows about one request as it moves through it, and what ends up in its
/// log row and response headers.
struct RequestContext {
    let requestID: String
    let startedAt: UInt64
    var identity: ClientIdentity?
    var customerID: String?
    var labels: [String: String] = [:]
    var requestedModel: String?
    var provider: ProviderID?
    var model: String?
    var attempts = 0
    var stream = false
    var usage = Usage()
    var cost = Decimal12.zero
    var ttftNanos: UInt64?

    /// The response headers every answer to this request carries.
    func headers(now: UInt64, includeLatency: Bool = true) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(6)
        headers.append(("X-Request-Id", requestID))
        if let provider { headers.append(("X-Provider", provider.rawValue)) }
        if let model { headers.append(("X-Model", model)) }
        headers.append(("X-Attempts", String(attempts)))
        if includeLatency {
            headers.append(("X-Cost-USD", cost.description))
            headers.append(("X-Latency-Ms", String(latencyMillis(now: now))))
        }
        return headers
    }

    func latencyMillis(now: UInt64) -> Int { Int((now &- startedAt) / 1_000_000) }

    func logRecord(status: Int, errorType: String?, now: UInt64) -> RequestLogRecord {
        RequestLogRecord(
            requestID: requestID, apiKeyID: identity?.keyID, customerID: customerID, labels: labels,
            requestedModel: requestedModel, model: model, provider: provider?.rawValue, statusCode: status,
            errorType: errorType, stream: stream, cacheHit: false, attempts: attempts,
            promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
            cachedTokens: usage.cachedTokens, costUSD: cost, latencyMs: latencyMillis(now: now),
            ttftMs: ttftNanos.map { Int($0 / 1_000_000) })
    }
}
