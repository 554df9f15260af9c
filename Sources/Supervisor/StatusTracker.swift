import Common

/// Turns successive snapshots into the rate and tail latency for systemd's STATUS line.
struct StatusTracker {
    private var lastCounters: [UInt64]?
    private var lastTime: UInt64 = 0

    mutating func update(snapshot: StatsSnapshot, now: UInt64) -> String {
        defer {
            lastCounters = snapshot.counters
            lastTime = now
        }
        guard let previous = lastCounters, now > lastTime else { return "0.0 req/s, p99 n/a" }
        let seconds = Double(now - lastTime) / 1e9
        let requests = snapshot.counter(Metric.durationCount) &- previous[Metric.durationCount]
        let rate = Double(requests) / seconds
        var buckets: [UInt64] = []
        for index in 0..<Metric.durationBucketCount {
            let metric = Metric.durationBucketsBase + index
            buckets.append(snapshot.counter(metric) &- previous[metric])
        }
        return "\(Self.oneDecimal(rate)) req/s, p99 \(Self.p99(buckets: buckets, total: requests))"
    }

    /// The upper bound of the bucket holding the 99th percentile.
    static func p99(buckets: [UInt64], total: UInt64) -> String {
        guard total > 0 else { return "n/a" }
        let target = (total * 99 + 99) / 100
        var cumulative: UInt64 = 0
        for (index, count) in buckets.enumerated() {
            cumulative += count
            if cumulative >= target {
                guard index < Metric.durationBounds.count else { return "> 60 s" }
                let bound = Metric.durationBounds[index]
                return bound < 1 ? "<= \(Int(bound * 1000)) ms" : "<= \(Int(bound)) s"
            }
        }
        return "n/a"
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
