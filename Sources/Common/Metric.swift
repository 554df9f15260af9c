/// The counters every worker keeps in its slot, by index. Grouped families are laid out as
/// contiguous ranges so a label combination is an offset, found without hashing.
public enum Metric {
    /// Reserved words per slot; new counters go below this without changing the layout size.
    public static let capacity = 512

    /// Routes as they appear in `llm0_http_requests_total{route=...}`.
    public enum Route: Int, CaseIterable, Sendable {
        case chatCompletions, models, healthz, readyz, metrics, admin, notFound, other
        public var label: String {
            switch self {
            case .chatCompletions: "/v1/chat/completions"
            case .models: "/v1/models"
            case .healthz: "/healthz"
            case .readyz: "/readyz"
            case .metrics: "/metrics"
            case .admin: "/admin"
            case .notFound: "not_found"
            case .other: "other"
            }
        }
    }

    /// Upper bounds, in seconds, of the request-duration histogram buckets (the last is +Inf).
    public static let durationBounds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]
    /// The same bounds in microseconds, for the hot path.
    public static let durationBoundsMicros: [UInt64] = durationBounds.map { UInt64($0 * 1e6) }

    public static let requestsBase = 0  // Route × code class (1xx…5xx)
    public static let codeClasses = 5
    public static let durationBucketsBase = requestsBase + Route.allCases.count * codeClasses  // 40
    public static let durationBucketCount = 16  // the bounds above and +Inf
    public static let durationSumMicros = durationBucketsBase + durationBucketCount  // 56
    public static let durationCount = durationSumMicros + 1
    public static let bytesIn = durationCount + 1
    public static let bytesOut = bytesIn + 1
    public static let connectionsAccepted = bytesOut + 1

    /// Upstream attempts by provider (openai, anthropic, gemini) and outcome.
    public static let upstreamBase = 64
    public static let providers = ["openai", "anthropic", "gemini"]
    public enum UpstreamOutcome: Int, CaseIterable, Sendable {
        case ok, rateLimited, serverError, clientError, timeout, connectionError
        public var label: String {
            switch self {
            case .ok: "ok"
            case .rateLimited: "429"
            case .serverError: "5xx"
            case .clientError: "4xx"
            case .timeout: "timeout"
            case .connectionError: "connection_error"
            }
        }
    }
    public static let failovers = upstreamBase + providers.count * UpstreamOutcome.allCases.count  // 82
    /// Cost by provider in units of 10^-12 USD (Decimal12's units), so sums stay exact.
    public static let costBase = failovers + 1
    /// Tokens by provider and kind (prompt, completion, cached).
    public static let tokensBase = costBase + providers.count
    public static let tokenKinds = ["prompt", "completion", "cached"]

    public static func upstream(provider: Int, outcome: UpstreamOutcome) -> Int {
        upstreamBase + provider * UpstreamOutcome.allCases.count + outcome.rawValue
    }

    public static func tokens(provider: Int, kind: Int) -> Int { tokensBase + provider * tokenKinds.count + kind }

    public static func requests(_ route: Route, status: Int) -> Int {
        let codeClass = min(max(status / 100, 1), 5) - 1
        return requestsBase + route.rawValue * codeClasses + codeClass
    }

    /// The bucket a duration falls in.
    public static func durationBucket(micros: UInt64) -> Int {
        var index = 0
        while index < durationBoundsMicros.count && micros > durationBoundsMicros[index] { index += 1 }
        return durationBucketsBase + index
    }
}
