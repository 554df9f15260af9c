import CGatewayLinux

/// A consistent sum over the whole segment: retired counters plus every slot's, and the gauges of
/// the live slots. Read by whichever worker answers `/metrics`, and by the supervisor for STATUS.
public struct StatsSnapshot: Sendable, Equatable {
    public var counters: [UInt64]
    public var inFlight: UInt64
    public var openConnections: UInt64
    public var workersUp: UInt64
    public var workerRestarts: UInt64
    public var startTimeSeconds: UInt64

    public func counter(_ metric: Int) -> UInt64 { counters[metric] }
}

extension SharedStats {
    /// Sums the segment. The supervisor's fold (retired += slot; slot = 0) is bracketed by a
    /// sequence number; a read that overlapped one is retried, so no sum counts a slot twice or
    /// not at all, and exported counters never go backwards.
    public func snapshot() -> StatsSnapshot {
        var counters = [UInt64](repeating: 0, count: StatsLayout.counterCount)
        var inFlight: UInt64 = 0
        var connections: UInt64 = 0
        for _ in 0..<64 {
            let before = header(StatsLayout.Header.foldSequence)
            if before & 1 == 1 { continue }
            for index in 0..<StatsLayout.counterCount { counters[index] = cgl_atomic_load(retired + index) }
            inFlight = 0
            connections = 0
            for index in 0..<StatsLayout.slotCount {
                let slot = slot(index)
                guard slot.state != .free else { continue }
                let slotCounters = slot.counters
                for metric in 0..<StatsLayout.counterCount {
                    counters[metric] &+= cgl_atomic_load(slotCounters + metric)
                }
                inFlight &+= slot.word(StatsLayout.SlotWord.inFlight)
                connections &+= slot.word(StatsLayout.SlotWord.openConnections)
            }
            if header(StatsLayout.Header.foldSequence) == before { break }
        }
        return StatsSnapshot(
            counters: counters, inFlight: inFlight, openConnections: connections,
            workersUp: header(StatsLayout.Header.workersUp),
            workerRestarts: header(StatsLayout.Header.workerRestarts),
            startTimeSeconds: header(StatsLayout.Header.startTimeSeconds))
    }

    // MARK: - Supervisor side

    /// Takes a free slot for a worker about to start; nil when every slot is in use.
    public func claimSlot(generation: UInt64) -> Int? {
        for index in 0..<StatsLayout.slotCount {
            let slot = slot(index)
            if cgl_atomic_cas(slot.base + StatsLayout.SlotWord.state, 0, StatsLayout.SlotState.starting.rawValue) != 0 {
                slot.setWord(StatsLayout.SlotWord.generation, generation)
                slot.setWord(StatsLayout.SlotWord.heartbeatNanos, cgl_monotonic_ns())
                return index
            }
        }
        return nil
    }

    /// Folds a reaped worker's counters into the retired block, clears the slot and frees it.
    public func fold(slot index: Int) {
        let slot = slot(index)
        addHeader(StatsLayout.Header.foldSequence, 1)  // odd: readers wait
        cgl_fence()
        for metric in 0..<StatsLayout.counterCount {
            let value = cgl_atomic_load(slot.counters + metric)
            if value != 0 {
                _ = cgl_atomic_add(retired + metric, value)
                cgl_atomic_store(slot.counters + metric, 0)
            }
        }
        for word in 1..<(StatsLayout.slotStateSize / 8) { slot.setWord(word, 0) }
        cgl_fence()
        addHeader(StatsLayout.Header.foldSequence, 1)  // even again
        slot.setState(.free)
    }
}
