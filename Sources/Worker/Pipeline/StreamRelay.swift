import Common

/// Relays one provider stream to the client as OpenAI Server-Sent Events, chunk by chunk as
/// they arrive, never buffered whole. A client slower than the provider pauses the upstream
/// transfer; a client that leaves cancels it. Cost and latency go out as trailers, since they
/// are known only at the end.
@LoopActor
struct StreamRelay {
    let services: WorkerServices
    let exchange: HTTPExchange
    let transfer: UpstreamTransfer
    let provider: any Provider

    static let trailers = ["X-Cost-USD", "X-Latency-Ms"]
    private static let done = Array("data: [DONE]\n\n".utf8)

    func relay(translation: TranslationContext, context: inout RequestContext) async {
        var headers = context.headers(now: services.loop.now, includeLatency: false)
        headers.insert(("Content-Type", "text/event-stream; charset=utf-8"), at: 0)
        headers.insert(("Cache-Control", "no-cache"), at: 1)
        exchange.startStream(status: 200, headers: headers, trailers: Self.trailers)

        var translator = provider.makeStreamTranslator(context: translation)
        var usage = Usage()
        var streamError: GatewayError?
        var completed = false
        var firstByteAt: UInt64?
        let upstream = services.upstream
        let transfer = self.transfer
        let exchange = self.exchange
        let loop = services.loop

        func emit(_ outputs: [StreamOutput]) -> Bool {
            var more = true
            for output in outputs where streamError == nil && !completed {
                switch output {
                case .chunk(let chunk):
                    var bytes = Array("data: ".utf8)
                    chunk.write(to: &bytes)
                    bytes.append(contentsOf: [0x0A, 0x0A])
                    if firstByteAt == nil { firstByteAt = loop.now }
                    more = exchange.write(bytes) && more
                case .usage(let reported):
                    usage = reported
                case .error(let error):
                    streamError = error
                    var bytes = Array("data: ".utf8)
                    bytes.append(contentsOf: error.json.utf8)
                    bytes.append(contentsOf: [0x0A, 0x0A])
                    exchange.write(bytes)
                case .done:
                    completed = true
                    exchange.write(Self.done)
                }
            }
            return more
        }

        transfer.stream { bytes in
            let more = emit(translator.consume(bytes))
            if streamError != nil || completed { return true }
            return more
        }
        exchange.onWritable = { upstream.resume(transfer) }
        let result = await transfer.completion()
        transfer.stopStreaming()
        exchange.onWritable = nil
        if streamError == nil && !completed {
            if case .failure(let failure) = result, failure != .cancelled {
                _ = emit([.error(failure.gatewayError(provider: context.provider ?? provider.id))])
            } else {
                _ = emit(translator.finish())
            }
        }
        if streamError != nil && !transfer.isComplete { upstream.cancel(transfer) }

        context.usage = usage
        context.ttftNanos = firstByteAt.map { $0 &- context.startedAt }
        if let price = services.prices.price(for: context.model ?? "") {
            context.cost = PriceBook.cost(of: usage, at: price)
        }
        let now = loop.now
        exchange.finish(trailers: [
            ("X-Cost-USD", context.cost.description), ("X-Latency-Ms", String(context.latencyMillis(now: now))),
        ])
        let status = exchange.isCancelled ? 499 : (streamError?.status ?? 200)
        services.record(context, status: status, errorType: streamError?.type)
    }
}
