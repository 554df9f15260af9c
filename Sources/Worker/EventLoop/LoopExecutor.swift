import CGatewayLinux
import Common
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs Swift concurrency jobs on the worker's event-loop thread, so the request pipeline reads
/// as straight-line `async` code while all of it runs on the one loop thread, as SwiftNIO binds
/// tasks to its EventLoop. Jobs enqueued from another thread (a store thread resuming a
/// continuation) wake the loop through an eventfd.
final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked: `pending` is behind a Mutex; `loopThread` and `wakeFD` are set once, before
    // any job exists, and only read afterwards.
    static let shared = LoopExecutor()

    private let pending = Mutex<[UnownedJob]>([])
    /// The batch being run; touched only on the loop thread.
    private var running: [UnownedJob] = []
    private(set) var wakeFD: Int32 = -1
    private var loopThread: pthread_t?

    private init() {}

    /// Binds the executor to the calling thread (the worker's main thread, which runs the loop).
    func bindToCurrentThread() throws(SystemError) {
        loopThread = pthread_self()
        wakeFD = cgl_eventfd()
        guard wakeFD >= 0 else { throw SystemError("eventfd") }
    }

    var isOnLoopThread: Bool {
        guard let loopThread else { return false }
        return pthread_equal(pthread_self(), loopThread) != 0
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let wasEmpty = pending.withLock { jobs in
            jobs.append(unowned)
            return jobs.count == 1
        }
        if wasEmpty && !isOnLoopThread {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Runs every job queued so far (and those they queue), on the loop thread.
    func runPending() {
        while true {
            // Swapped with the loop's own spare array under the lock, so no batch allocates.
            pending.withLock { jobs in swap(&jobs, &running) }
            if running.isEmpty { return }
            for job in running {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
            running.removeAll(keepingCapacity: true)
        }
    }

    var hasPending: Bool { pending.withLock { !$0.isEmpty } }

    /// Clears the eventfd after a wake-up.
    func acknowledgeWake() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    func checkIsolated() {
        precondition(isOnLoopThread, "not on the worker's event-loop thread")
    }
}

/// The isolation of everything a worker does: its event loop, connections and request pipeline
/// all live on the loop thread, and the compiler holds them to it.
@globalActor
actor LoopActor {
    static let shared = LoopActor()

    nonisolated var unownedExecutor: UnownedSerialExecutor { LoopExecutor.shared.asUnownedSerialExecutor() }

    /// Runs `body` as loop-isolated code; the caller must be on the loop thread (checked).
    nonisolated static func assumeIsolated<T>(_ body: @LoopActor () throws -> T) rethrows -> T {
        LoopExecutor.shared.checkIsolated()
        return try withoutActuallyEscaping(body) { escapable in
            try unsafeBitCast(escapable, to: (() throws -> T).self)()
        }
    }
}

extension LoopActor {
    /// Starts a task of the worker's pipeline: isolated to the loop, and with the loop as its
    /// preferred task executor. Without the preference, a continuation resumed by an upstream
    /// connection or the store thread would first be enqueued on the global thread pool (waking
    /// a pool thread) only to hop straight back to the loop: two thread switches per `await`.
    @discardableResult
    nonisolated static func task(_ body: sending @escaping @LoopActor () async -> Void) -> Task<Void, Never> {
        Task(executorPreference: LoopExecutor.shared, operation: body)
    }
}
