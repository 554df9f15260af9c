import CGatewayLinux

/// One worker's block in the stats segment. Each slot has exactly one writing process (its
/// worker); the supervisor claims and folds slots only before the worker starts and after it
/// has been reaped.
public struct StatsSlot: @unchecked Sendable {
    // @unchecked: the pointer is to shared memory that is only touched through atomics.
    let base: UnsafeMutablePointer<UInt64>

    public var counters: UnsafeMutablePointer<UInt64> { base + StatsLayout.slotStateSize / 8 }

    public func word(_ index: Int) -> UInt64 { cgl_atomic_load(base + index) }
    public func setWord(_ index: Int, _ value: UInt64) { cgl_atomic_store(base + index, value) }

    public var state: StatsLayout.SlotState {
        StatsLayout.SlotState(rawValue: word(StatsLayout.SlotWord.state)) ?? .free
    }
    public func setState(_ state: StatsLayout.SlotState) { setWord(StatsLayout.SlotWord.state, state.rawValue) }

    @inline(__always)
    public func add(_ metric: Int, _ amount: UInt64 = 1) {
        _ = cgl_atomic_add(counters + metric, amount)
    }

    @inline(__always)
    public func counter(_ metric: Int) -> UInt64 { cgl_atomic_load(counters + metric) }

    public func gaugeAdd(_ word: Int, _ delta: Int) {
        if delta >= 0 {
            _ = cgl_atomic_add(base + word, UInt64(delta))
        } else {
            _ = cgl_atomic_sub(base + word, UInt64(-delta))
        }
    }

    /// Counts one finished HTTP request.
    public func recordRequest(route: Metric.Route, status: Int, micros: UInt64, bytesIn: Int, bytesOut: Int) {
        add(Metric.requests(route, status: status))
        add(Metric.durationBucket(micros: micros))
        add(Metric.durationSumMicros, micros)
        add(Metric.durationCount)
        add(Metric.bytesIn, UInt64(bytesIn))
        add(Metric.bytesOut, UInt64(bytesOut))
    }

    public func beat() { setWord(StatsLayout.SlotWord.heartbeatNanos, cgl_monotonic_ns()) }
}
