import Testing

@testable import Common

struct SharedStatsTests {
    @Test func countersSumOverSlotsAndSurviveAFold() throws {
        let stats = try SharedStats.create()
        let first = try #require(stats.claimSlot(generation: 1))
        let second = try #require(stats.claimSlot(generation: 1))
        #expect(first != second)
        stats.slot(first).recordRequest(route: .healthz, status: 200, micros: 800, bytesIn: 10, bytesOut: 20)
        stats.slot(second).recordRequest(route: .healthz, status: 204, micros: 30_000, bytesIn: 5, bytesOut: 5)
        stats.slot(second).recordRequest(route: .notFound, status: 404, micros: 3, bytesIn: 1, bytesOut: 1)
        let before = stats.snapshot()
        #expect(before.counter(Metric.requests(.healthz, status: 200)) == 2)
        #expect(before.counter(Metric.requests(.notFound, status: 404)) == 1)
        #expect(before.counter(Metric.durationCount) == 3)
        #expect(before.counter(Metric.bytesIn) == 16)

        // The second worker dies: its counts move to the retired block, nothing is lost.
        stats.fold(slot: second)
        let after = stats.snapshot()
        #expect(after.counters == before.counters)
        #expect(stats.slot(second).state == .free)
        #expect(stats.claimSlot(generation: 2) == second)
        #expect(stats.slot(second).counter(Metric.durationCount) == 0)
    }

    @Test func aSecondMappingSeesTheSameCounters() throws {
        let stats = try SharedStats.create()
        let slot = try #require(stats.claimSlot(generation: 1))
        let other = try SharedStats.attach(fd: stats.fd)
        other.slot(slot).add(Metric.bytesOut, 42)
        #expect(stats.snapshot().counter(Metric.bytesOut) == 42)
    }

    @Test func exposureIsPrometheusText() throws {
        let stats = try SharedStats.create()
        let slot = stats.slot(try #require(stats.claimSlot(generation: 1)))
        slot.recordRequest(route: .metrics, status: 200, micros: 1_500, bytesIn: 1, bytesOut: 1)
        slot.add(Metric.costBase + 1, 3_750_000)  // 0.00000375 USD for anthropic
        let text = PrometheusExposition.render(stats.snapshot())
        #expect(text.contains("# TYPE llm0_http_requests_total counter"))
        #expect(text.contains("llm0_http_requests_total{route=\"/metrics\",code_class=\"2xx\"} 1"))
        #expect(text.contains("llm0_http_request_duration_seconds_bucket{le=\"0.001\"} 0"))
        #expect(text.contains("llm0_http_request_duration_seconds_bucket{le=\"0.0025\"} 1"))
        #expect(text.contains("llm0_http_request_duration_seconds_bucket{le=\"+Inf\"} 1"))
        #expect(text.contains("llm0_http_request_duration_seconds_sum 0.001500"))
        #expect(text.contains("llm0_cost_usd_total{provider=\"anthropic\"} 0.00000375"))
        #expect(text.contains("llm0_upstream_requests_total{provider=\"gemini\",outcome=\"timeout\"} 0"))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "malformed sample line: \(line)")
        }
    }
}
