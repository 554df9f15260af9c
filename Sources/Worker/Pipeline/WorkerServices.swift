import Common

/// Everything the request pipeline of one worker uses, created once at worker start and passed
/// down: the store thread and what sits in front of it, the upstream client, the providers.
@LoopActor
final class WorkerServices {
    let config: GatewayConfig
    let loop: EventLoop
    let logger: Logger
    let stats: StatsSlot
    let store: StoreThread
    let keys: KeyCache
    let prices: PriceBook
    let logs: LogWriter
    let upstream: UpstreamClient
    let providers: ProviderRegistry
    let planner: FailoverPlanner
    let health: ProviderHealth
    /// `req_` and a random per-worker prefix, as bytes.
    private let idHead = Array(("req_" + Secrets.randomHex(bytes: 6)).utf8)
    private var idCounter: UInt64 = 0
    /// Models already warned about having no price: one line per model, not one per request.
    /// Bounded, since `provider/model` lets a client name any model.
    private var unpricedWarned: Set<String> = []

    init(config: GatewayConfig, loop: EventLoop, logger: Logger, stats: StatsSlot, shared: SharedStats) {
        self.config = config
        self.loop = loop
        self.logger = logger
        self.stats = stats
        let databaseURL = config.databaseURL
        let dataDirectory = config.dataDirectory
        store = StoreThread { () throws(StoreError) -> any Store in
            try makeStore(databaseURL: databaseURL, dataDirectory: dataDirectory)
        }
        keys = KeyCache(store: store, loop: loop)
        prices = PriceBook()
        logs = LogWriter(store: store, loop: loop, logger: logger,
            spool: LogSpool(dataDirectory: config.dataDirectory, logger: logger))
        upstream = UpstreamClient(
            loop: loop, headTimeoutNanos: config.upstreamTimeoutNanos, idleTimeoutNanos: config.upstreamIdleTimeoutNanos)
        providers = ProviderRegistry(config: config)
        planner = FailoverPlanner(routing: config.routing)
        health = ProviderHealth(stats: shared, breaker: config.routing.breaker)
        loop.every(60_000_000_000) { [unowned self] in self.refreshPrices() }
        refreshPrices()
    }

    /// A request id unique across workers: a random per-worker prefix and a counter.
    func newRequestID() -> String {
        idCounter += 1
        let counter = idCounter
        let digits = max(1, (UInt64.bitWidth - counter.leadingZeroBitCount + 3) / 4)
        // Written in place: interpolating a radix-16 String cost a microsecond per request.
        return String(unsafeUninitializedCapacity: idHead.count + digits) { out in
            _ = out.initialize(fromContentsOf: idHead)
            var value = counter
            for index in (idHead.count..<idHead.count + digits).reversed() {
                let nibble = UInt8(value & 0xF)
                out[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                value >>= 4
            }
            return idHead.count + digits
        }
    }

    /// UPSTREAM_TIMEOUT, or the provider's own from GATEWAY_CONFIG.
    func timeout(for provider: ProviderID) -> UInt64 {
        config.routing.providerTimeoutNanos[provider.rawValue] ?? config.upstreamTimeoutNanos
    }

    func countUpstream(_ provider: ProviderID, _ outcome: Metric.UpstreamOutcome) {
        stats.add(Metric.upstream(provider: provider.metricIndex, outcome: outcome))
    }

    /// Prices `usage` into the context and counts tokens and cost for /metrics.
    func account(_ usage: Usage, context: inout RequestContext, sentModel: String) {
        context.usage = usage
        if let price = prices.price(for: sentModel) ?? context.model.flatMap(prices.price(for:)) {
            context.cost = PriceBook.cost(of: usage, at: price)
        } else if usage.totalTokens > 0, unpricedWarned.count < 256, unpricedWarned.insert(sentModel).inserted {
            logger.warn("no price for model; its costs are recorded as 0 until it has one (PUT /admin/pricing/{model})",
                ["model": .string(sentModel)])
        }
        guard let provider = context.provider else { return }
        let index = provider.metricIndex
        stats.add(Metric.tokens(provider: index, kind: 0), UInt64(max(0, usage.promptTokens)))
        stats.add(Metric.tokens(provider: index, kind: 1), UInt64(max(0, usage.completionTokens)))
        stats.add(Metric.tokens(provider: index, kind: 2), UInt64(max(0, usage.cachedTokens)))
        stats.add(Metric.costBase + index, UInt64(clamping: context.cost.units))
    }

    /// Hands the request's log row to the batch writer. Requests that never authenticated are
    /// counted in /metrics but not logged: an unauthenticated flood must not fill the database.
    func record(_ context: RequestContext, status: Int, errorType: String?) {
        guard context.identity != nil else { return }
        logs.append(context.logRecord(status: status, errorType: errorType, now: loop.now))
    }

    func refreshPrices() {
        LoopActor.task { [self] in
            do throws(StoreError) {
                let rows = try await store.run { store throws(StoreError) in try store.pricing() }
                prices.replace(with: rows)
            } catch {
                logger.warn("price table not loaded; will retry", ["error": .string(error.description)])
                loop.schedule(at: loop.now + 5_000_000_000) { [weak self] in self?.refreshPrices() }
            }
        }
    }
}
