import CGatewayLinux
import Common
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking store calls on a thread of their own, so SQLite's and libpq's waits never stall
/// the event loop. The pipeline `await`s a call; the thread resumes it, which wakes the loop.
/// One thread per worker owns the one `Store` connection, so the store is never shared.
final class StoreThread: Sendable {
    private let queue = Mutex<[@Sendable (any Store) -> Void]>([])
    /// Counts queued jobs and the stop request; the thread sleeps on it. Allocated, so its
    /// address never moves (a POSIX semaphore must not be copied).
    private nonisolated(unsafe) let signal: UnsafeMutablePointer<sem_t>
    private let stopped = Atomic<Bool>(false)

    /// Starts the thread; it opens the store with `open` on first use (and again after a
    /// failure to open, on the next call).
    init(open: @escaping @Sendable () throws(StoreError) -> any Store) {
        signal = .allocate(capacity: 1)
        sem_init(signal, 0, 0)
        let body = ThreadBody { [self] in self.serve(open: open) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(body).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
            _ = cgl_set_process_name("store")  // PR_SET_NAME names the calling thread
            // Writing log batches is background work: when every core is busy, the request
            // path comes first. Nice 5 still gets it a fair share, far more than it needs to
            // keep up. (When a core is free this changes nothing, not even for SCHED_IDLE: the
            // tail latency a write causes then is kept down by short writes, see LogWriter.)
            _ = cgl_make_thread_background(5)
            body.run()
            return nil
        }, context)
        precondition(started == 0, "cannot start the store thread: \(started)")
        pthread_detach(thread)
    }

    /// Runs `work` against the store on its thread and returns its result.
    /// `nonisolated(nonsending)`: the caller stays on its own executor (the loop) while it waits,
    /// instead of hopping to the global pool and back for every call.
    nonisolated(nonsending) func run<T: Sendable>(_ work: @escaping @Sendable (any Store) throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            enqueue { store in
                do throws(StoreError) {
                    continuation.resume(returning: .success(try work(store)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        sem_post(signal)
    }

    private func enqueue(_ job: @escaping @Sendable (any Store) -> Void) {
        queue.withLock { $0.append(job) }
        sem_post(signal)
    }

    private func serve(open: @Sendable () throws(StoreError) -> any Store) {
        var store: (any Store)?
        var openError: StoreError?
        while true {
            while sem_wait(signal) != 0 && errno == EINTR {}
            let jobs = queue.withLock { jobs -> [@Sendable (any Store) -> Void] in
                let taken = jobs
                jobs.removeAll()
                return taken
            }
            for job in jobs {
                if store == nil {
                    do {
                        store = try open()
                        openError = nil
                    } catch {
                        openError = error
                    }
                }
                if let store {
                    job(store)
                } else {
                    job(UnavailableStore(error: openError ?? .unavailable("the database could not be opened")))
                }
            }
            if stopped.load(ordering: .relaxed) && queue.withLock({ $0.isEmpty }) { return }
        }
    }
}

/// What a new thread runs; passed through `pthread_create`'s context pointer.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Stands in while the database cannot be opened: every call fails with the reason, and the
/// next call tries to open it again.
private final class UnavailableStore: Store {
    let error: StoreError
    init(error: StoreError) { self.error = error }
    func migrate() throws(StoreError) -> [String] { throw error }
    func ping() throws(StoreError) { throw error }
    func findKey(hash: String) throws(StoreError) -> APIKeyRecord? { throw error }
    func insertKey(_ key: APIKeyRecord) throws(StoreError) { throw error }
    func listKeys() throws(StoreError) -> [APIKeyRecord] { throw error }
    func revokeKey(id: String) throws(StoreError) -> Bool { throw error }
    func insertLogs(_ logs: [RequestLogRecord]) throws(StoreError) { throw error }
    func recentLogs(limit: Int) throws(StoreError) -> [RequestLogRecord] { throw error }
    func usage(groupBy: UsageGrouping, from: Timestamp?, to: Timestamp?) throws(StoreError) -> [UsageRow] { throw error }
    func pricing() throws(StoreError) -> [ModelPrice] { throw error }
    func setPrice(_ price: ModelPrice) throws(StoreError) { throw error }
}
