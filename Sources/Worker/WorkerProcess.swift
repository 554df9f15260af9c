import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// One worker process: maps the stats segment, serves its listeners on one event loop, beats its
/// heartbeat, and drains on the supervisor's word, on SIGTERM/SIGINT, or when the supervisor
/// goes away.
@LoopActor
final class WorkerProcess {
    private let config: GatewayConfig
    private let slotIndex: Int
    private let stats: SharedStats
    private let slot: StatsSlot
    private let logger: Logger
    private let loop: EventLoop
    private let server: HTTPServerContext
    private var listeners: [HTTPListener] = []
    private var control: ControlChannel?
    private var signals: SignalReader?
    private var drainDeadline: UInt64?
    /// The most connections open since the last look, and when that was: see `releaseMemoryAfterSpike`.
    private var connectionPeak = 0
    private var lastMemoryCheck: UInt64 = 0
    private let services: WorkerServices
    private var isStopping = false

    nonisolated static func main(slot: Int, variables: [String: String]) -> Never {
        do {
            try LoopExecutor.shared.bindToCurrentThread()
        } catch {
            Logger(level: .info, role: "worker-\(slot)").error("cannot create the loop executor", ["error": .string(error.description)])
            exit(1)
        }
        LoopActor.assumeIsolated { run(slot: slot, variables: variables) }
    }

    private static func run(slot: Int, variables: [String: String]) -> Never {
        let bootstrapLogger = Logger(level: .info, role: "worker-\(slot)")
        let config: GatewayConfig
        do {
            config = try GatewayConfig.load(from: variables)
        } catch {
            bootstrapLogger.error(error.description)
            exit(WorkerEntry.fatalConfigurationExit)
        }
        let logger = Logger(level: config.logLevel, role: "worker-\(slot)")
        do {
            let worker = try WorkerProcess(config: config, slot: slot, logger: logger, variables: variables)
            worker.run()
        } catch {
            logger.error("worker failed to start", ["error": .string("\(error)")])
            exit(1)
        }
        exit(0)
    }

    init(config: GatewayConfig, slot: Int, logger: Logger, variables: [String: String]) throws {
        self.config = config
        self.slotIndex = slot
        self.logger = logger
        _ = cgl_set_process_name("gateway-worker")
        _ = cgl_set_parent_death_signal(SIGTERM)
        raiseDescriptorLimit()
        stats = try SharedStats.attach(fd: WorkerDescriptors.stats)
        self.slot = stats.slot(slot)
        loop = try EventLoop()
        server = HTTPServerContext(loop: loop, config: config, stats: self.slot, logger: logger)
        services = WorkerServices(config: config, loop: loop, logger: logger, stats: self.slot, shared: stats)
        server.responder = Router(stats: stats, server: server, services: services)

        signals = try SignalReader(signals: [SIGTERM, SIGINT, SIGQUIT, SIGHUP]) { [unowned self] signal in
            if signal != SIGHUP { self.beginDrain(reason: "signal \(signal)") }
        }
        try loop.register(signals!.fd, events: CGL_EPOLLIN, handler: signals!)
        _ = cgl_ignore_signal(SIGPIPE)

        let count = Int(variables[WorkerDescriptors.listenerCountVariable] ?? "") ?? 0
        let shared = variables[WorkerDescriptors.sharedListenersVariable] == "1"
        for offset in 0..<count {
            let listener = HTTPListener(
                fd: WorkerDescriptors.firstListener + Int32(offset), exclusive: shared, server: server)
            try listener.start()
            listeners.append(listener)
        }
        server.onConnectionClosed = { [unowned self] in
            for listener in self.listeners { listener.resumeIfPossible() }
        }

        control = ControlChannel(fd: WorkerDescriptors.control) { [unowned self] message in
            if message == WorkerDescriptors.Message.drain || message == nil {
                self.beginDrain(reason: message == nil ? "supervisor gone" : "supervisor asked")
            }
        }
        try loop.register(WorkerDescriptors.control, events: CGL_EPOLLIN, handler: control!)

        loop.every(250_000_000) { [unowned self] in self.tick() }
        // The supervisor may have died before PR_SET_PDEATHSIG was set.
        if getppid() == 1 { beginDrain(reason: "supervisor gone") }
    }

    func run() {
        slot.setWord(StatsLayout.SlotWord.pid, UInt64(getpid()))
        slot.beat()
        if drainDeadline == nil { slot.setState(.serving) }
        control?.send(WorkerDescriptors.Message.ready)
        logger.info("worker serving", ["listeners": .int(listeners.count)])
        loop.run()
    }

    private func tick() {
        slot.beat()
        server.sweep()
        for listener in listeners { listener.resumeIfPossible() }
        releaseMemoryAfterSpike()
        guard let deadline = drainDeadline else { return }
        if server.openConnections == 0 {
            logger.info("worker drained")
            stop()
        } else if loop.now >= deadline {
            logger.warn("shutdown grace over; closing remaining connections",
                ["connections": .int(server.openConnections)])
            stop()
        }
    }

    /// glibc keeps freed memory for reuse; after a spike (thousands of streams at once) a worker
    /// would hold that peak for good. Every 10 s, if the connections have fallen well below their
    /// peak since the last look, the free pages go back to the system.
    private func releaseMemoryAfterSpike() {
        connectionPeak = max(connectionPeak, server.openConnections)
        guard loop.now &- lastMemoryCheck >= 10_000_000_000 else { return }
        if connectionPeak >= 2 * server.openConnections + 256 { _ = cgl_release_free_memory() }
        connectionPeak = server.openConnections
        lastMemoryCheck = loop.now
    }

    private func beginDrain(reason: String) {
        guard drainDeadline == nil else { return }
        drainDeadline = cgl_monotonic_ns() + config.shutdownGraceNanos
        slot.setState(.draining)
        logger.info("worker draining", ["reason": .string(reason), "connections": .int(server.openConnections)])
        for listener in listeners { listener.close() }
        listeners.removeAll()
        server.beginDrain()
        if server.openConnections == 0 { stop() }
    }

    /// Writes the request logs still queued (or spools them), then ends the loop.
    private func stop() {
        guard !isStopping else { return }
        isStopping = true
        let loop = self.loop
        let logs = services.logs
        loop.schedule(at: loop.now + 10_000_000_000) {
            logs.spoolPending()
            loop.stop()
        }
        LoopActor.task { [services] in
            await services.logs.drain()
            loop.stop()
        }
    }

}

/// What the `gateway` executable needs of a worker.
public enum WorkerEntry {
    /// Exit status for a worker that cannot start with this configuration: the supervisor does
    /// not respawn it in a loop.
    public static let fatalConfigurationExit: Int32 = 2

    /// Runs a worker to completion on the calling (main) thread, which becomes the loop thread;
    /// never returns.
    public static func main(slot: Int, variables: [String: String]) -> Never {
        WorkerProcess.main(slot: slot, variables: variables)
    }
}
