import CGatewayLinux
import Common

/// Provider health shared by every worker through the stats segment, so they act as one: a
/// provider that said "retry after N seconds" is called by no worker before then, and one that
/// keeps failing is left alone for a cooldown, then tried by a single probe (a circuit breaker).
/// Lock-free: plain words updated with atomics; a worker dying mid-update leaves at worst a
/// probe marker, which expires.
struct ProviderHealth: Sendable {
    let stats: SharedStats
    let breaker: CircuitBreakerSettings

    enum Availability: Equatable {
        case available
        /// The circuit is half-open and this caller holds the one probe: report its outcome.
        case probe
        /// Not before this monotonic time.
        case unavailable(until: UInt64)
    }

    /// A probe holder that died never reports; after this its probe is taken over.
    static let probeExpiry: UInt64 = 60_000_000_000

    private func word(_ provider: ProviderID, _ offset: Int) -> UnsafeMutablePointer<UInt64> {
        let index = ProviderID.allCases.firstIndex(of: provider)!
        return stats.base + StatsLayout.Header.providerHealthBase + index * StatsLayout.Header.providerHealthWords + offset
    }

    func availability(_ provider: ProviderID, now: UInt64) -> Availability {
        let blocked = cgl_atomic_load(word(provider, StatsLayout.ProviderHealthWord.blockedUntil))
        if now < blocked { return .unavailable(until: blocked) }
        let open = cgl_atomic_load(word(provider, StatsLayout.ProviderHealthWord.openUntil))
        if open == 0 { return .available }
        if now < open { return .unavailable(until: open) }
        let probe = word(provider, StatsLayout.ProviderHealthWord.probeStartedAt)
        let holder = cgl_atomic_load(probe)
        if holder == 0 || now > holder + Self.probeExpiry, cgl_atomic_cas(probe, holder, now) != 0 {
            return .probe
        }
        return .unavailable(until: now + 1_000_000_000)
    }

    func recordSuccess(_ provider: ProviderID) {
        cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.consecutiveFailures), 0)
        if cgl_atomic_load(word(provider, StatsLayout.ProviderHealthWord.openUntil)) != 0 {
            cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.openUntil), 0)
            cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.cooldownNanos), 0)
        }
        cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.probeStartedAt), 0)
    }

    /// A 429: nobody calls the provider for `retryAfterNanos` (one second when it gave no time).
    func recordRateLimited(_ provider: ProviderID, retryAfterNanos: UInt64?, now: UInt64) {
        let until = now + (retryAfterNanos ?? 1_000_000_000)
        let blocked = word(provider, StatsLayout.ProviderHealthWord.blockedUntil)
        while true {
            let current = cgl_atomic_load(blocked)
            if current >= until || cgl_atomic_cas(blocked, current, until) != 0 { break }
        }
        cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.probeStartedAt), 0)
    }

    /// A 5xx, a timeout or a connection failure. After `breaker.failures` in a row, or when a
    /// probe fails, the circuit opens for the cooldown, which doubles up to its maximum.
    func recordFailure(_ provider: ProviderID, now: UInt64, wasProbe: Bool) {
        let failures = cgl_atomic_add(word(provider, StatsLayout.ProviderHealthWord.consecutiveFailures), 1) + 1
        guard wasProbe || failures >= UInt64(breaker.failures) else { return }
        let cooldownWord = word(provider, StatsLayout.ProviderHealthWord.cooldownNanos)
        let previous = cgl_atomic_load(cooldownWord)
        let cooldown = previous == 0 ? breaker.cooldownNanos : min(previous * 2, breaker.maxCooldownNanos)
        cgl_atomic_store(cooldownWord, cooldown)
        cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.openUntil), now + cooldown)
        cgl_atomic_store(word(provider, StatsLayout.ProviderHealthWord.probeStartedAt), 0)
    }
}
