import CGatewayLinux
import Common
import Worker

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor: one thread, one poll loop over a signalfd and the workers' control sockets.
/// It spawns, reaps, replaces, reloads and notifies; it never runs request code, so nothing a
/// client sends can take it down.
final class Supervisor {
    private var config: GatewayConfig
    private var logger: Logger
    private let stats: SharedStats
    private let sockets: ListeningSockets
    private let notifier: SystemdNotifier
    private let spawner: WorkerSpawner
    private let signalFD: Int32
    /// The environment at start: a reload re-reads `.env` over it.
    private let baseEnvironment: [String: String]

    private var workers: [WorkerHandle] = []
    private var generation = 1
    /// Workers of the generation that should be serving, by index, once started.
    private var wanted: Int
    private var respawnAt: [Int: UInt64] = [:]
    private var crashTimes: [Int: [UInt64]] = [:]
    private var isShuttingDown = false
    private var shutdownDeadline: UInt64 = 0
    private var announcedReady = false
    /// The generation being started by a reload, until all of it is ready.
    private var reloadingGeneration: Int?
    private var reloadPending = false
    private var nextWatchdog: UInt64 = 0
    private var nextStatus: UInt64 = 0
    private var statusTracker = StatusTracker()

    /// How long a new worker may take to report ready.
    private let startTimeout: UInt64 = 30_000_000_000
    /// A worker whose heartbeat is older than this is not healthy: the watchdog stops.
    private let staleAfter: UInt64 = 2_000_000_000
    /// A worker silent for this long is hung and is killed (and so replaced).
    private let hungAfter: UInt64 = 10_000_000_000

    init(config: GatewayConfig, logger: Logger, baseEnvironment: [String: String], signalFD: Int32) throws {
        self.config = config
        self.logger = logger
        self.baseEnvironment = baseEnvironment
        self.signalFD = signalFD
        wanted = config.workers
        notifier = SystemdNotifier(environment: baseEnvironment)
        stats = try SharedStats.create()
        stats.setHeader(StatsLayout.Header.workersWanted, UInt64(config.workers))
        sockets = try ListeningSockets(config: config, logger: logger)
        let arguments0 = CommandLine.arguments.first ?? "gateway"
        spawner = WorkerSpawner(arguments0: arguments0)
    }

    /// Runs until shutdown completes; returns the process exit status.
    func run() -> Int32 {
        for index in 0..<wanted { spawnWorker(index: index, generation: generation) }
        while true {
            pollOnce()
            let now = cgl_monotonic_ns()
            handleTimers(now: now)
            if isShuttingDown && workers.isEmpty {
                logger.info("supervisor stopped")
                return 0
            }
        }
    }

    // MARK: - Loop

    private func pollOnce() {
        var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        for worker in workers { fds.append(pollfd(fd: worker.control, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), 100)
        guard ready > 0 else { return }
        if fds[0].revents != 0 { drainSignals() }
        for entry in fds.dropFirst() where entry.revents != 0 { readControl(entry.fd) }
    }

    private func drainSignals() {
        while true {
            var sender: Int32 = 0
            let signal = cgl_signalfd_read(signalFD, &sender)
            guard signal > 0 else { return }
            switch Int32(signal) {
            case SIGCHLD: reap()
            case SIGHUP: requestReload()
            case SIGTERM, SIGINT, SIGQUIT: beginShutdown(signal: Int32(signal))
            default: break
            }
        }
    }

    private func readControl(_ fd: Int32) {
        guard let position = workers.firstIndex(where: { $0.control == fd }) else { return }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count > 0 {
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            if message == WorkerDescriptors.Message.ready { workerReady(at: position) }
        } else if count == 0 {
            // The worker closed its end: it is exiting. SIGCHLD follows; stop polling the socket.
            close(fd)
            workers[position].control = -1
        }
    }

    // MARK: - Workers

    private func spawnWorker(index: Int, generation: Int) {
        guard let slot = stats.claimSlot(generation: UInt64(generation)) else {
            logger.error("no free stats slot; cannot start a worker")
            return
        }
        do {
            let spawned = try spawner.spawn(
                statsSlot: slot, statsFD: stats.fd, listeners: sockets.assigned(toWorker: index, of: wanted),
                shared: sockets.fromSystemd, variables: config.variables)
            let now = cgl_monotonic_ns()
            workers.append(WorkerHandle(
                pid: spawned.pid, index: index, generation: generation, statsSlot: slot, control: spawned.control,
                state: .starting(deadline: now + startTimeout), startedAt: now))
            logger.info("worker started", ["pid": .int(Int(spawned.pid)), "index": .int(index),
                "generation": .int(generation), "slot": .int(slot)])
        } catch {
            stats.fold(slot: slot)
            logger.error("cannot start worker", ["error": .string(error.description)])
            respawnAt[index] = cgl_monotonic_ns() + 1_000_000_000
        }
    }

    private func workerReady(at position: Int) {
        guard case .starting = workers[position].state else { return }
        workers[position].state = .ready
        let generation = workers[position].generation
        guard currentGeneration(isAllReady: generation) else { return }
        if generation == reloadingGeneration {
            finishReload()
        } else if !announcedReady && generation == self.generation {
            announcedReady = true
            logger.info("gateway ready", ["workers": .int(wanted), "port": .int(sockets.boundPort)])
            notifier.ready(status: statusLine())
        }
        updateWorkersUp()
    }

    private func currentGeneration(isAllReady generation: Int) -> Bool {
        let members = workers.filter { $0.generation == generation }
        return members.count == wanted && members.allSatisfy { $0.state == .ready }
    }

    private func updateWorkersUp() {
        let up = workers.filter { $0.generation == generation && $0.state == .ready }.count
        stats.setHeader(StatsLayout.Header.workersUp, UInt64(up))
    }

    private func drain(_ position: Int, grace: UInt64) {
        if case .draining = workers[position].state { return }
        workers[position].state = .draining(deadline: cgl_monotonic_ns() + grace + 5_000_000_000)
        let fd = workers[position].control
        if fd >= 0 {
            var bytes = Array(WorkerDescriptors.Message.drain.utf8)
            if send(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 {
                kill(workers[position].pid, SIGTERM)
            }
        } else {
            kill(workers[position].pid, SIGTERM)
        }
    }

    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let position = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            let worker = workers.remove(at: position)
            if worker.control >= 0 { close(worker.control) }
            stats.fold(slot: worker.statsSlot)
            let description = Self.describe(status: status)
            let expected: Bool
            if case .draining = worker.state { expected = true } else { expected = isShuttingDown }
            if expected {
                logger.info("worker exited", ["pid": .int(Int(pid)), "status": .string(description)])
            } else {
                workerDied(worker, description: description, fatal: cgl_wifexited(status) != 0
                    && cgl_wexitstatus(status) == WorkerEntry.fatalConfigurationExit)
            }
            updateWorkersUp()
        }
    }

    private func workerDied(_ worker: WorkerHandle, description: String, fatal: Bool) {
        logger.error("worker died", ["pid": .int(Int(worker.pid)), "index": .int(worker.index),
            "generation": .int(worker.generation), "status": .string(description)])
        if worker.generation == reloadingGeneration {
            abortReload(reason: "a new worker \(description) before it was ready")
            return
        }
        guard worker.generation == generation else { return }
        stats.addHeader(StatsLayout.Header.workerRestarts, 1)
        if fatal {
            logger.error("worker cannot start with this configuration; stopping")
            beginShutdown(signal: 0)
            return
        }
        // Replace at once; back off only when the slot keeps dying, so a crash loop is slowed
        // and reported instead of spinning.
        let now = cgl_monotonic_ns()
        var recent = (crashTimes[worker.index] ?? []).filter { now - $0 < 30_000_000_000 }
        recent.append(now)
        crashTimes[worker.index] = recent
        let delay: UInt64 = recent.count <= 3 ? 0 : min(250_000_000 << UInt64(min(recent.count - 4, 6)), 10_000_000_000)
        if delay > 0 {
            logger.error("worker crash loop; delaying restart", ["index": .int(worker.index),
                "crashes_30s": .int(recent.count), "delay_ms": .int(Int(delay / 1_000_000))])
        }
        respawnAt[worker.index] = now + delay
    }

    static func describe(status: Int32) -> String {
        if cgl_wifexited(status) != 0 { return "exited with status \(cgl_wexitstatus(status))" }
        if cgl_wifsignaled(status) != 0 {
            return "killed by signal \(cgl_wtermsig(status))" + (cgl_wcoredump(status) != 0 ? " (core dumped)" : "")
        }
        return "stopped (status \(status))"
    }

    // MARK: - Reload

    private func requestReload() {
        guard !isShuttingDown else { return }
        if reloadingGeneration != nil {
            reloadPending = true
            return
        }
        notifier.reloading()
        let newConfig: GatewayConfig
        do {
            let variables = try EnvironmentFile.merged(environment: baseEnvironment)
            newConfig = try GatewayConfig.load(from: variables)
            try sockets.ensure(count: newConfig.workers, logger: logger)
        } catch {
            logger.error("reload failed; keeping the running workers", ["error": .string("\(error)")])
            notifier.ready(status: "Reload failed: \(error)")
            return
        }
        if newConfig.host != config.host || newConfig.port != config.port {
            logger.warn("HOST and PORT changes take effect on restart, not on reload")
        }
        config = newConfig
        logger = Logger(level: newConfig.logLevel, role: "supervisor")
        generation += 1
        wanted = newConfig.workers
        stats.setHeader(StatsLayout.Header.generation, UInt64(generation))
        stats.setHeader(StatsLayout.Header.workersWanted, UInt64(wanted))
        reloadingGeneration = generation
        respawnAt.removeAll()
        logger.info("reloading", ["generation": .int(generation), "workers": .int(wanted)])
        for index in 0..<wanted { spawnWorker(index: index, generation: generation) }
    }

    /// Every worker of the new generation serves: retire the old ones gracefully.
    private func finishReload() {
        guard let newGeneration = reloadingGeneration else { return }
        reloadingGeneration = nil
        for position in workers.indices where workers[position].generation != newGeneration {
            drain(position, grace: config.shutdownGraceNanos)
        }
        logger.info("reload complete", ["generation": .int(newGeneration)])
        announcedReady = true
        notifier.ready(status: statusLine())
        if reloadPending {
            reloadPending = false
            requestReload()
        }
    }

    /// A new worker failed: drain the new generation and keep the old one serving.
    private func abortReload(reason: String) {
        guard let failed = reloadingGeneration else { return }
        reloadingGeneration = nil
        for position in workers.indices where workers[position].generation == failed {
            drain(position, grace: 1_000_000_000)
        }
        generation = workers.filter { $0.generation != failed }.map(\.generation).max() ?? generation
        wanted = workers.filter { $0.generation == generation }.count
        stats.setHeader(StatsLayout.Header.generation, UInt64(generation))
        logger.error("reload failed; keeping the running workers", ["reason": .string(reason)])
        notifier.ready(status: "Reload failed: \(reason)")
    }

    // MARK: - Shutdown

    private func beginShutdown(signal: Int32) {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        notifier.stopping()
        logger.info("shutting down", ["signal": .int(Int(signal)), "workers": .int(workers.count)])
        shutdownDeadline = cgl_monotonic_ns() + config.shutdownGraceNanos + 5_000_000_000
        for position in workers.indices { drain(position, grace: config.shutdownGraceNanos) }
    }

    // MARK: - Timers

    private func handleTimers(now: UInt64) {
        for (index, due) in respawnAt where due <= now && !isShuttingDown {
            respawnAt[index] = nil
            if index < wanted && !workers.contains(where: { $0.index == index && $0.generation == generation }) {
                spawnWorker(index: index, generation: generation)
            }
        }
        for position in workers.indices {
            let worker = workers[position]
            switch worker.state {
            case .starting(let deadline) where now > deadline:
                logger.error("worker did not become ready in time", ["pid": .int(Int(worker.pid))])
                kill(worker.pid, SIGKILL)
            case .draining(let deadline) where now > deadline:
                kill(worker.pid, SIGKILL)
            case .ready:
                let beat = stats.slot(worker.statsSlot).word(StatsLayout.SlotWord.heartbeatNanos)
                if now > beat && now - beat > hungAfter {
                    logger.error("worker hung (no heartbeat); killing it", ["pid": .int(Int(worker.pid))])
                    kill(worker.pid, SIGKILL)
                }
            default: break
            }
        }
        if isShuttingDown && now > shutdownDeadline {
            for worker in workers { kill(worker.pid, SIGKILL) }
        }
        if let interval = notifier.watchdogIntervalNanos, now >= nextWatchdog {
            nextWatchdog = now + interval
            if workersHealthy(now: now) { notifier.watchdog() }
        }
        if now >= nextStatus {
            nextStatus = now + 5_000_000_000
            if announcedReady && !isShuttingDown { notifier.status(statusLine()) }
        }
    }

    /// True while the loop turns and every serving worker's heartbeat is fresh.
    private func workersHealthy(now: UInt64) -> Bool {
        guard !isShuttingDown else { return true }
        let serving = workers.filter { $0.generation == generation && $0.state == .ready }
        guard serving.count == wanted else { return false }
        return serving.allSatisfy { worker in
            let beat = stats.slot(worker.statsSlot).word(StatsLayout.SlotWord.heartbeatNanos)
            return beat >= now || now - beat < staleAfter
        }
    }

    private func statusLine() -> String {
        let up = workers.filter { $0.generation == generation && $0.state == .ready }.count
        let rates = statusTracker.update(snapshot: stats.snapshot(), now: cgl_monotonic_ns())
        return "workers \(up)/\(wanted), generation \(generation), \(rates)"
    }
}
