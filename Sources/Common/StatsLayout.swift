/// The fixed layout of the shared-memory stats segment.
///
/// ```
/// offset 0     header (512 bytes): magic, version, sizes, fold sequence, supervisor gauges
/// offset 512   retired counters: what replaced workers counted, folded in by the supervisor
/// then         slotCount slots, each 128 bytes of per-worker state + the worker's counters
/// ```
/// Offsets, never pointers; 128-byte aligned blocks; every word is a UInt64 touched only through
/// lock-free atomics, so a worker that dies at any instant leaves nothing locked. Changing any
/// offset or count below means bumping `version`: a worker refuses a segment of another version.
public enum StatsLayout {
    public static let magic: UInt64 = 0x314D_4853_304D_4C4C  // "LLM0SHM1" little-endian
    public static let version: UInt64 = 2
    public static let headerSize = 512
    public static let counterCount = Metric.capacity
    public static let countersSize = counterCount * 8
    public static let slotStateSize = 128
    public static let slotSize = slotStateSize + countersSize
    /// Enough for the largest worker pool twice over (old and new generation during a reload).
    public static let slotCount = 2 * 256 + 8
    public static let retiredOffset = headerSize
    public static let slotsOffset = retiredOffset + countersSize
    public static let totalSize = slotsOffset + slotCount * slotSize

    /// Header words (index into the header as UInt64s).
    public enum Header {
        public static let magic = 0
        public static let version = 1
        public static let totalSize = 2
        public static let slotCount = 3
        public static let slotSize = 4
        public static let counterCount = 5
        public static let startTimeSeconds = 6
        /// Odd while the supervisor folds a slot into the retired counters (a seqlock).
        public static let foldSequence = 7
        public static let workerRestarts = 8
        public static let workersUp = 9
        public static let generation = 10
        public static let workersWanted = 11
        /// Provider health (see `ProviderHealthWord`): `providerHealthWords` words per provider.
        public static let providerHealthBase = 16
        public static let providerHealthWords = 8
        public static let providerCount = 3
    }

    /// Words of one provider's health block, shared by every worker so they act as one.
    public enum ProviderHealthWord {
        /// Monotonic nanoseconds before which nobody calls the provider (its Retry-After).
        public static let blockedUntil = 0
        /// Monotonic nanoseconds until which the circuit is open (the provider keeps failing).
        public static let openUntil = 1
        public static let consecutiveFailures = 2
        /// When the half-open probe in flight started; 0 when none is.
        public static let probeStartedAt = 3
        /// The cooldown the circuit opens for next; doubles while probes fail.
        public static let cooldownNanos = 4
    }

    /// Slot state words (index into the slot as UInt64s).
    public enum SlotWord {
        public static let state = 0
        public static let pid = 1
        public static let generation = 2
        public static let heartbeatNanos = 3
        public static let inFlight = 4
        public static let openConnections = 5
    }

    /// What a slot is used for; written by the supervisor (free, starting) and the worker (serving, draining).
    public enum SlotState: UInt64, Sendable {
        case free = 0
        case starting = 1
        case serving = 2
        case draining = 3
    }
}
