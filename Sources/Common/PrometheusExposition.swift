/// Renders a `StatsSnapshot` in the Prometheus text format (version 0.0.4), HELP and TYPE lines
/// included. Pure: the same snapshot always renders the same text.
public enum PrometheusExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: StatsSnapshot) -> String {
        var out = ""
        out.reserveCapacity(4096)

        family(&out, "llm0_http_requests_total", "counter", "HTTP requests answered, by route and status class.")
        for route in Metric.Route.allCases {
            for codeClass in 1...Metric.codeClasses {
                let value = snapshot.counter(Metric.requests(route, status: codeClass * 100))
                guard value > 0 else { continue }
                out += "llm0_http_requests_total{route=\"\(route.label)\",code_class=\"\(codeClass)xx\"} \(value)\n"
            }
        }

        family(&out, "llm0_http_request_duration_seconds", "histogram", "Time from a request's first byte to its last response byte.")
        var cumulative: UInt64 = 0
        for (index, bound) in Metric.durationBounds.enumerated() {
            cumulative += snapshot.counter(Metric.durationBucketsBase + index)
            out += "llm0_http_request_duration_seconds_bucket{le=\"\(formatBound(bound))\"} \(cumulative)\n"
        }
        cumulative += snapshot.counter(Metric.durationBucketsBase + Metric.durationBounds.count)
        out += "llm0_http_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "llm0_http_request_duration_seconds_sum \(formatMicros(snapshot.counter(Metric.durationSumMicros)))\n"
        out += "llm0_http_request_duration_seconds_count \(snapshot.counter(Metric.durationCount))\n"

        gauge(&out, "llm0_http_requests_in_flight", "Requests being answered now.", snapshot.inFlight)
        gauge(&out, "llm0_http_connections_open", "Client connections open now.", snapshot.openConnections)
        counter(&out, "llm0_http_connections_accepted_total", "Client connections accepted.",
            snapshot.counter(Metric.connectionsAccepted))
        counter(&out, "llm0_http_received_bytes_total", "Bytes of HTTP requests received.",
            snapshot.counter(Metric.bytesIn))
        counter(&out, "llm0_http_sent_bytes_total", "Bytes of HTTP responses sent.", snapshot.counter(Metric.bytesOut))
        family(&out, "llm0_upstream_requests_total", "counter", "Attempts sent to providers, by outcome.")
        for (index, provider) in Metric.providers.enumerated() {
            for outcome in Metric.UpstreamOutcome.allCases {
                let value = snapshot.counter(Metric.upstream(provider: index, outcome: outcome))
                out += "llm0_upstream_requests_total{provider=\"\(provider)\",outcome=\"\(outcome.label)\"} \(value)\n"
            }
        }
        counter(&out, "llm0_failovers_total", "Times a request moved on to another provider.",
            snapshot.counter(Metric.failovers))
        family(&out, "llm0_cost_usd_total", "counter", "Cost of answered requests in USD, by provider.")
        for (index, provider) in Metric.providers.enumerated() {
            out += "llm0_cost_usd_total{provider=\"\(provider)\"} \(formatPico(snapshot.counter(Metric.costBase + index)))\n"
        }
        family(&out, "llm0_tokens_total", "counter", "Tokens of answered requests, by provider and kind.")
        for (index, provider) in Metric.providers.enumerated() {
            for (kindIndex, kind) in Metric.tokenKinds.enumerated() {
                let value = snapshot.counter(Metric.tokens(provider: index, kind: kindIndex))
                out += "llm0_tokens_total{provider=\"\(provider)\",kind=\"\(kind)\"} \(value)\n"
            }
        }
        gauge(&out, "llm0_workers", "Worker processes of the current generation that serve.", snapshot.workersUp)
        counter(&out, "llm0_worker_restarts_total", "Workers replaced after they died unexpectedly.",
            snapshot.workerRestarts)
        gauge(&out, "llm0_start_time_seconds", "When the supervisor started, in Unix seconds.",
            snapshot.startTimeSeconds)
        return out
    }

    private static func family(_ out: inout String, _ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private static func counter(_ out: inout String, _ name: String, _ help: String, _ value: UInt64) {
        family(&out, name, "counter", help)
        out += "\(name) \(value)\n"
    }

    private static func gauge(_ out: inout String, _ name: String, _ help: String, _ value: UInt64) {
        family(&out, name, "gauge", help)
        out += "\(name) \(value)\n"
    }

    static func formatBound(_ bound: Double) -> String {
        bound == bound.rounded() && bound >= 1 ? String(Int(bound)) : String(bound)
    }

    /// 10^-12 USD units as a plain decimal.
    static func formatPico(_ units: UInt64) -> String {
        let fraction = String(units % 1_000_000_000_000)
        var text = "\(units / 1_000_000_000_000).\(String(repeating: "0", count: 12 - fraction.count))\(fraction)"
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Microseconds as seconds in plain decimal notation (Prometheus accepts either; this stays exact).
    static func formatMicros(_ micros: UInt64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
    }
}
