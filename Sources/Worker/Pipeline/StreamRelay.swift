import Common

/// Relays one provider stream to the client as OpenAI Server-Sent Events, chunk by chunk as
/// they arrive, never buffered whole. The response head goes out with the first chunk, so a
/// stream that fails before producing one can still fail over. A client slower than the provider
/// pauses the upstream transfer; a client that leaves cancels it. Cost and latency go out as
/// trailers, since they are known only at the end.
@LoopActor
struct StreamRelay {
    let services: WorkerServices
    let exchange: HTTPExchange
    let transfer: UpstreamTransfer
    let provider: any Provider

    enum Outcome {
        case finished
        /// Nothing reached the client: the chain may try another provider.
        case failedBeforeFirstByte(GatewayError)
    }

    static let trailers = ["X-Cost-USD", "X-Latency-Ms"]
    private static let done = Array("data: [DONE]\n\n".utf8)
    private static let dataPrefix = Array("data: ".utf8)

    func relay(translation: TranslationContext, context: inout RequestContext) async -> Outcome {
        var translator = provider.makeStreamTranslator(context: translation)
        var usage = Usage()
        var streamError: GatewayError?
        var completed = false
        var started = false
        var firstByteAt: UInt64?
        let upstream = services.upstream
        let transfer = self.transfer
        let exchange = self.exchange
        let loop = services.loop
        let head = context.headers(now: loop.now, includeLatency: false)

        func start() {
            guard !started else { return }
            started = true
            firstByteAt = loop.now
            var headers = head
            headers.insert(("Content-Type", "text/event-stream; charset=utf-8"), at: 0)
            headers.insert(("Cache-Control", "no-cache"), at: 1)
            exchange.startStream(status: 200, headers: headers, trailers: Self.trailers)
        }

        /// Sends what one piece of the upstream body produced as one write: a provider that has
        /// fallen behind sends several events at once, and each would otherwise cost a syscall.
        func emit(_ outputs: [StreamOutput]) -> Bool {
            var pending: [UInt8] = []
            for output in outputs where streamError == nil && !completed {
                switch output {
                case .chunk(let chunk):
                    start()
                    pending.append(contentsOf: Self.dataPrefix)
                    chunk.write(to: &pending)
                    pending.append(contentsOf: [0x0A, 0x0A])
                case .rawChunk(let text):
                    start()
                    pending.append(contentsOf: Self.dataPrefix)
                    pending.append(contentsOf: text)
                    pending.append(contentsOf: [0x0A, 0x0A])
                case .usage(let reported):
                    usage = reported
                case .error(let error):
                    streamError = error
                    guard started else { break }
                    pending.append(contentsOf: Self.dataPrefix)
                    pending.append(contentsOf: error.json.utf8)
                    pending.append(contentsOf: [0x0A, 0x0A])
                case .done:
                    start()
                    completed = true
                    pending.append(contentsOf: Self.done)
                }
            }
            return pending.isEmpty || exchange.write(pending)
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
            if case .failure(let failure) = result {
                if failure != .cancelled { _ = emit([.error(failure.gatewayError(provider: provider.id))]) }
            } else {
                _ = emit(translator.finish())
            }
        }
        if streamError != nil && !transfer.isComplete { upstream.cancel(transfer) }
        if !started {
            return .failedBeforeFirstByte(streamError ?? UpstreamFailure.cancelled.gatewayError(provider: provider.id))
        }

        context.ttftNanos = firstByteAt.map { $0 &- context.startedAt }
        services.account(usage, context: &context, sentModel: translation.model)
        let now = loop.now
        exchange.finish(trailers: [
            ("X-Cost-USD", context.cost.description), ("X-Latency-Ms", String(context.latencyMillis(now: now))),
        ])
        let status = exchange.isCancelled ? 499 : (streamError?.status ?? 200)
        services.record(context, status: status, errorType: streamError?.type)
        return .finished
    }
}
