import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// Something that owns a descriptor registered with the loop.
@LoopActor
protocol EventHandler: AnyObject {
    /// Called on the loop thread with the epoll event bits.
    func handleEvent(_ events: UInt32)
}

/// One worker's event loop: epoll on non-blocking descriptors, a few periodic timers and a queue
/// of work to run after the current batch of events. Everything runs on the one thread that
/// calls `run()`; no type here is shared with another thread.
@LoopActor
final class EventLoop {
    private let epollFD: Int32
    /// Handlers by descriptor, with the tag each registration got: epoll's user data carries
    /// both, so an event still queued for a descriptor that was closed and reused in the same
    /// batch is recognised and dropped.
    private var handlers: [(tag: UInt32, handler: EventHandler)?] = []
    private var nextTag: UInt32 = 1
    private var timers: [PeriodicTimer] = []
    private var deferred: [() -> Void] = []
    private var deferredSpare: [() -> Void] = []
    private var events = [cgl_epoll_event](repeating: cgl_epoll_event(), count: 256)
    private(set) var isRunning = false
    /// The monotonic time at the start of the current batch of events; cheap "now" for handlers.
    private(set) var now: UInt64 = cgl_monotonic_ns()

    private var oneShots: [OneShotTimer] = []
    private var nextTimerID = 1
    private let executor = LoopExecutor.shared
    private var wake: ExecutorWake?

    /// Creates the loop; the executor must already be bound to this thread.
    init() throws(SystemError) {
        epollFD = cgl_epoll_create()
        guard epollFD >= 0 else { throw SystemError("epoll_create1") }
        let wake = ExecutorWake(executor: executor)
        self.wake = wake
        try register(executor.wakeFD, events: CGL_EPOLLIN, handler: wake)
    }

    deinit { close(epollFD) }

    // MARK: - Descriptors

    func register(_ fd: Int32, events: UInt32, handler: EventHandler) throws(SystemError) {
        let tag = nextTag
        nextTag = nextTag == UInt32.max ? 1 : nextTag + 1
        guard cgl_epoll_ctl(epollFD, CGL_EPOLL_CTL_ADD, fd, events, UInt64(tag) << 32 | UInt64(UInt32(fd))) == 0
        else { throw SystemError("epoll_ctl(ADD)") }
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: max(index + 1 - handlers.count, handlers.count)))
        }
        handlers[index] = (tag, handler)
    }

    /// Changes the events watched on `fd`; false when it is not registered (any more: closing a
    /// file takes it out of epoll without a word to us).
    @discardableResult
    func modify(_ fd: Int32, events: UInt32) -> Bool {
        guard Int(fd) < handlers.count, let entry = handlers[Int(fd)] else { return false }
        return cgl_epoll_ctl(epollFD, CGL_EPOLL_CTL_MOD, fd, events, UInt64(entry.tag) << 32 | UInt64(UInt32(fd))) == 0
    }

    /// The handler registered for `fd`, if any.
    func handler(for fd: Int32) -> EventHandler? {
        Int(fd) < handlers.count ? handlers[Int(fd)]?.handler : nil
    }

    /// Removes `fd` from the loop; call before closing it.
    func unregister(_ fd: Int32) {
        guard Int(fd) < handlers.count, handlers[Int(fd)] != nil else { return }
        _ = cgl_epoll_ctl(epollFD, CGL_EPOLL_CTL_DEL, fd, 0, 0)
        handlers[Int(fd)] = nil
    }

    // MARK: - Timers and deferred work

    /// Calls `action` every `intervalNanos` (first call one interval from now).
    func every(_ intervalNanos: UInt64, _ action: @escaping () -> Void) {
        timers.append(PeriodicTimer(interval: intervalNanos, due: cgl_monotonic_ns() + intervalNanos, action: action))
    }

    /// Calls `action` once at `deadline` (monotonic nanoseconds); returns an id for `cancel`.
    @discardableResult
    func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> Int {
        let id = nextTimerID
        nextTimerID += 1
        oneShots.append(OneShotTimer(id: id, due: deadline, action: action))
        return id
    }

    func cancel(timer id: Int) {
        oneShots.removeAll { $0.id == id }
    }

    /// Runs `action` after the current batch of events, on the loop thread.
    func runSoon(_ action: @escaping () -> Void) { deferred.append(action) }

    func stop() { isRunning = false }

    // MARK: - Running

    func run() {
        isRunning = true
        while isRunning {
            let timeout = millisecondsUntilNextTimer()
            let count = events.withUnsafeMutableBufferPointer { buffer in
                cgl_epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            now = cgl_monotonic_ns()
            if count < 0 && errno != EINTR { break }
            for index in 0..<max(0, Int(count)) {
                let event = events[index]
                let fd = Int(UInt32(truncatingIfNeeded: event.data))
                let tag = UInt32(truncatingIfNeeded: event.data >> 32)
                guard fd < handlers.count, let entry = handlers[fd], entry.tag == tag else { continue }
                entry.handler.handleEvent(event.events)
            }
            runDeferredAndPending()
            fireTimers()
            // Timers may have queued work; done now, it does not cost another turn of epoll.
            runDeferredAndPending()
        }
    }

    /// Deferred actions and executor jobs queue each other (a finished request's job defers
    /// the connection's next read): both run until neither has work, so the loop never goes
    /// back to epoll only to be told, with a zero timeout, that work is waiting.
    private func runDeferredAndPending() {
        repeat {
            runDeferred()
            executor.runPending()
        } while !deferred.isEmpty
    }

    private func runDeferred() {
        // Swapped with a spare array rather than copied, so a busy loop allocates nothing here.
        while !deferred.isEmpty {
            swap(&deferred, &deferredSpare)
            for action in deferredSpare { action() }
            deferredSpare.removeAll(keepingCapacity: true)
        }
    }

    private func fireTimers() {
        if !oneShots.isEmpty && oneShots.contains(where: { $0.due <= now }) {
            let due = oneShots.filter { $0.due <= now }
            oneShots.removeAll { $0.due <= now }
            for timer in due { timer.action() }
        }
        for index in timers.indices where timers[index].due <= now {
            timers[index].due = now + timers[index].interval
            timers[index].action()
        }
    }

    /// epoll_wait's timeout: 0 when work is waiting, else until the nearest timer (runs on every
    /// turn of the loop, so it walks the few timers instead of building arrays).
    private func millisecondsUntilNextTimer() -> Int32 {
        if !deferred.isEmpty || executor.hasPending { return 0 }
        var due = UInt64.max
        for timer in timers where timer.due < due { due = timer.due }
        for timer in oneShots where timer.due < due { due = timer.due }
        if due == .max { return -1 }
        let current = cgl_monotonic_ns()
        return due <= current ? 0 : Int32(min((due - current + 999_999) / 1_000_000, 60_000))
    }
}

private struct OneShotTimer {
    var id: Int
    var due: UInt64
    var action: () -> Void
}

/// Clears the executor's eventfd; the jobs themselves run after each batch of events.
@LoopActor
private final class ExecutorWake: EventHandler {
    let executor: LoopExecutor
    init(executor: LoopExecutor) { self.executor = executor }
    func handleEvent(_ events: UInt32) { executor.acknowledgeWake() }
}

private struct PeriodicTimer {
    var interval: UInt64
    var due: UInt64
    var action: () -> Void
}
