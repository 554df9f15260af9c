import CGatewayLinux

#if canImport(Glibc)
import Glibc
#endif

/// A mapped stats segment (see `StatsLayout`). The supervisor creates it in a memfd and passes the
/// descriptor to each worker, which maps the same pages: anonymous shared memory would not
/// survive the exec that starts a worker.
public struct SharedStats: @unchecked Sendable {
    // @unchecked: the pointer is to shared memory that is only ever touched through atomics.
    public let base: UnsafeMutablePointer<UInt64>
    public let fd: Int32

    /// Creates the segment in a new memfd and writes its header. Supervisor only.
    public static func create() throws(SystemError) -> SharedStats {
        let fd = cgl_memfd_create("llm0-stats")
        guard fd >= 0 else { throw SystemError("memfd_create") }
        guard ftruncate(fd, off_t(StatsLayout.totalSize)) == 0 else {
            let error = SystemError("ftruncate")
            close(fd)
            throw error
        }
        let stats = try map(fd: fd)
        let header: [(Int, UInt64)] = [
            (StatsLayout.Header.version, StatsLayout.version),
            (StatsLayout.Header.totalSize, UInt64(StatsLayout.totalSize)),
            (StatsLayout.Header.slotCount, UInt64(StatsLayout.slotCount)),
            (StatsLayout.Header.slotSize, UInt64(StatsLayout.slotSize)),
            (StatsLayout.Header.counterCount, UInt64(StatsLayout.counterCount)),
            (StatsLayout.Header.startTimeSeconds, cgl_realtime_ns() / 1_000_000_000),
        ]
        for (word, value) in header { cgl_atomic_store(stats.base + word, value) }
        // The magic goes last: a segment with a magic is a complete one.
        cgl_atomic_store(stats.base + StatsLayout.Header.magic, StatsLayout.magic)
        return stats
    }

    /// Maps a segment a worker inherited, refusing one of another layout.
    public static func attach(fd: Int32) throws(SystemError) -> SharedStats {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("fstat") }
        guard Int(info.st_size) == StatsLayout.totalSize else {
            throw SystemError("stats segment has size \(info.st_size), expected \(StatsLayout.totalSize)", errno: 0)
        }
        let stats = try map(fd: fd)
        let expected: [(Int, UInt64)] = [
            (StatsLayout.Header.magic, StatsLayout.magic),
            (StatsLayout.Header.version, StatsLayout.version),
            (StatsLayout.Header.slotSize, UInt64(StatsLayout.slotSize)),
            (StatsLayout.Header.counterCount, UInt64(StatsLayout.counterCount)),
        ]
        for (word, value) in expected where cgl_atomic_load(stats.base + word) != value {
            throw SystemError("stats segment header word \(word) does not match this binary's layout", errno: 0)
        }
        return stats
    }

    private static func map(fd: Int32) throws(SystemError) -> SharedStats {
        guard let raw = mmap(nil, StatsLayout.totalSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
            raw != MAP_FAILED
        else { throw SystemError("mmap") }
        return SharedStats(base: raw.bindMemory(to: UInt64.self, capacity: StatsLayout.totalSize / 8), fd: fd)
    }

    // MARK: - Words

    public func header(_ word: Int) -> UInt64 { cgl_atomic_load(base + word) }
    public func setHeader(_ word: Int, _ value: UInt64) { cgl_atomic_store(base + word, value) }
    public func addHeader(_ word: Int, _ value: UInt64) { _ = cgl_atomic_add(base + word, value) }

    public var retired: UnsafeMutablePointer<UInt64> { base + StatsLayout.retiredOffset / 8 }

    public func slot(_ index: Int) -> StatsSlot {
        precondition(index >= 0 && index < StatsLayout.slotCount, "slot \(index) out of range")
        return StatsSlot(base: base + (StatsLayout.slotsOffset + index * StatsLayout.slotSize) / 8)
    }
}
