import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// Takes `request_logs` rows off the request path: rows wait in memory and are written in
/// batches by the store thread. When the database is down they stay queued and are retried
/// with backoff; past `maxQueued`, and at shutdown, waiting rows go to an append-only spool file
/// in GATEWAY_DATA_DIR, replayed in order once the database answers again. No row is dropped.
@LoopActor
final class LogWriter {
    private var queued: [RequestLogRecord] = []
    /// The batch the store thread is writing. Taken out of `queued` whole rather than copied
    /// (copying and later removing a thousand rows held the loop for milliseconds), and put
    /// back in front if the write fails.
    private var inFlight: [RequestLogRecord] = []
    private var isFlushing = false
    /// Shutdown's drain, waiting for the write under way to end first.
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    /// Whether a flush is already set to run `flushDelay` from when its first row came.
    private var flushTimerArmed = false
    private var retryAt: UInt64 = 0
    private var failures = 0
    private let store: StoreThread
    private let loop: EventLoop
    private let logger: Logger
    private let spool: LogSpool
    let batchSize = 1000
    let maxQueued = 50_000
    /// How long a row waits for others to share its write. Many small writes rather than one
    /// large write every quarter second: on a machine with few cores, a burst of CPU work
    /// beside the request path delays the requests that land next to it by about its length
    /// (a 3 ms flush every quarter second made one request in a hundred a millisecond late at
    /// c=1). Each write has a fixed cost, so this one costs a little more CPU in all. Under
    /// load, the rows that come while a write runs make the next batch: batches grow with the
    /// rate, up to `batchSize`.
    let flushDelay: UInt64 = 20_000_000

    init(store: StoreThread, loop: EventLoop, logger: Logger, spool: LogSpool) {
        self.store = store
        self.loop = loop
        self.logger = logger
        self.spool = spool
        loop.every(250_000_000) { [unowned self] in self.flushIfDue() }
    }

    var pendingCount: Int { queued.count }

    func append(_ record: RequestLogRecord) {
        queued.append(record)
        if queued.count > maxQueued {
            spool.append(queued)
            queued.removeAll()
        }
        flushSoon()
    }

    /// A full batch goes at once; fewer rows wait `flushDelay` for company.
    private func flushSoon() {
        if queued.count >= batchSize { flushIfDue() } else { armFlush() }
    }

    private func armFlush() {
        guard !flushTimerArmed, !isFlushing, !queued.isEmpty else { return }
        flushTimerArmed = true
        loop.schedule(at: loop.now + flushDelay) { [unowned self] in
            flushTimerArmed = false
            flushIfDue()
        }
    }

    private func flushIfDue() {
        guard !isFlushing, loop.now >= retryAt else { return }
        if queued.isEmpty {
            if spool.hasRecords { replaySpool() }
            return
        }
        if queued.count <= batchSize {
            swap(&inFlight, &queued)
        } else {
            inFlight = Array(queued.prefix(batchSize))
            queued.removeFirst(batchSize)
        }
        let batch = inFlight
        isFlushing = true
        LoopActor.task { [self] in
            do throws(StoreError) {
                try await store.run { store throws(StoreError) in try store.insertLogs(batch) }
                inFlight = []
                releaseBacklogCapacity()
                failures = 0
                retryAt = 0
            } catch {
                queued.insert(contentsOf: inFlight, at: 0)
                inFlight = []
                failures += 1
                retryAt = loop.now + min(UInt64(1) << UInt64(min(failures, 5)), 30) * 500_000_000
                if failures == 1 || failures % 20 == 0 {
                    logger.warn("request logs not written yet; will retry", ["error": .string(error.description),
                        "queued": .int(queued.count)])
                }
            }
            flushEnded()
        }
    }

    private func flushEnded() {
        isFlushing = false
        let waiters = flushWaiters
        flushWaiters = []
        for waiter in waiters { waiter.resume() }
        // Rows that came during the write. (The quarter-second tick still retries after a
        // failure and replays the spool.)
        flushSoon()
    }

    /// A backlog (the database slow or away for a moment) fills the heap with rows; once it is
    /// written, the queue's large buffer and the heap pages the rows held are given back to the
    /// system, so one stall does not stay in the worker's memory for good.
    private func releaseBacklogCapacity() {
        guard queued.count <= batchSize && queued.capacity > 4 * batchSize else { return }
        queued = Array(queued)
        _ = cgl_release_free_memory()
    }

    private func replaySpool() {
        let batch = spool.readBatch(limit: batchSize)
        guard !batch.isEmpty else { return }
        isFlushing = true
        LoopActor.task { [self] in
            do {
                try await store.run { store throws(StoreError) in try store.insertLogs(batch) }
                spool.consume(batch.count)
            } catch {
                retryAt = loop.now + 5_000_000_000
            }
            flushEnded()
        }
    }

    /// Writes every waiting row to the spool at once: the last resort when the process must end
    /// and the database did not answer in time. A batch whose insert was still under way may be
    /// written twice later (a duplicate, never a loss).
    func spoolPending() {
        let rows = inFlight + queued
        guard !rows.isEmpty else { return }
        spool.append(rows)
        logger.warn("request logs spooled at exit", ["count": .int(rows.count)])
        inFlight = []
        queued.removeAll()
    }

    /// At shutdown: one last attempt, then whatever is left goes to the spool.
    func drain() async {
        // A write under way ends first: its rows are either written or back in the queue.
        while isFlushing {
            await withCheckedContinuation { flushWaiters.append($0) }
        }
        // No timer-driven flush may take rows from under the drain's own writes.
        isFlushing = true
        defer { flushEnded() }
        while !queued.isEmpty {
            let batch = Array(queued.prefix(batchSize))
            do {
                try await store.run { store throws(StoreError) in try store.insertLogs(batch) }
                queued.removeFirst(min(batch.count, queued.count))  // spoolPending may have run meanwhile
            } catch {
                spool.append(queued)
                logger.warn("database unavailable at shutdown; request logs spooled", ["count": .int(queued.count)])
                queued.removeAll()
            }
        }
    }
}
