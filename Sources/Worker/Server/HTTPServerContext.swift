import CGatewayLinux
import Common

/// Answers requests. The router implements it; handlers may answer later, from the loop.
@LoopActor
protocol HTTPResponder: AnyObject {
    func respond(to exchange: HTTPExchange)
}

/// What every connection of one worker shares: limits, counters, the responder, the read buffer.
@LoopActor
final class HTTPServerContext {
    let loop: EventLoop
    let config: GatewayConfig
    let stats: StatsSlot
    let logger: Logger
    var responder: HTTPResponder?
    /// Set when the worker drains: responses close their connections and idle ones are closed.
    private(set) var isDraining = false
    private(set) var drainStartedAt: UInt64 = 0
    var date = HTTPDate()
    /// One read buffer for every connection: data is copied out of it only when a request is
    /// split across reads.
    var scratch = [UInt8](repeating: 0, count: 65536)
    private(set) var connections: [HTTPConnection?] = []
    private(set) var openConnections = 0
    /// Called whenever a connection closes (the listener resumes accepting below the limit).
    var onConnectionClosed: (() -> Void)?

    /// How long a draining worker waits for the next request on an idle keep-alive connection
    /// before closing it. A client under load sends one within this and gets `Connection: close`
    /// on its response, so a reload never races a request on the wire.
    let drainIdleGraceNanos: UInt64 = 1_000_000_000
    /// A response that makes no write progress for this long is abandoned.
    let sendTimeoutNanos: UInt64 = 60_000_000_000

    init(loop: EventLoop, config: GatewayConfig, stats: StatsSlot, logger: Logger) {
        self.loop = loop
        self.config = config
        self.stats = stats
        self.logger = logger
    }

    func add(_ connection: HTTPConnection) {
        let index = Int(connection.fd)
        if index >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(index + 1 - connections.count, 64)))
        }
        connections[index] = connection
        openConnections += 1
        stats.gaugeAdd(StatsLayout.SlotWord.openConnections, 1)
        stats.add(Metric.connectionsAccepted)
    }

    func remove(_ connection: HTTPConnection) {
        let index = Int(connection.fd)
        guard index < connections.count, connections[index] === connection else { return }
        connections[index] = nil
        openConnections -= 1
        stats.gaugeAdd(StatsLayout.SlotWord.openConnections, -1)
        onConnectionClosed?()
    }

    func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        drainStartedAt = loop.now
        sweep()
    }

    /// Enforces every connection's deadline; runs a few times a second.
    func sweep() {
        let now = loop.now
        for case let connection? in connections { connection.checkDeadline(now: now) }
    }
}
