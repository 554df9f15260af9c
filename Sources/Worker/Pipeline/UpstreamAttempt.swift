import Common

/// One attempt of the failover chain: translate for the step's provider, send, and either answer
/// the client or report a failure the chain may move past. Nothing reaches the client before
/// the attempt has something to send, so a failure up to then can still fail over.
@LoopActor
struct UpstreamAttempt {
    let services: WorkerServices
    let exchange: HTTPExchange
    let request: ChatRequest
    let step: AttemptStep
    /// This attempt is the half-open circuit's one probe: its outcome must be reported.
    let isProbe: Bool
    /// The requested model's own provider (a translation refusal there is the client's error).
    let isFirst: Bool

    enum Outcome {
        case answered
        case failed(GatewayError)
    }

    func run(context: inout RequestContext) async -> Outcome {
        let provider = services.providers.translator(for: step.provider)!
        let credentials = services.providers.credentials(for: step.provider)!
        let upstreamRequest: UpstreamRequest
        do {
            upstreamRequest = try provider.makeRequest(request, model: step.model, stream: request.stream, credentials: credentials)
        } catch {
            // A fallback provider that cannot express this request is skipped, not blamed.
            var skipped = error
            if !isFirst { skipped.retryable = true }
            return .failed(skipped)
        }
        let transfer = services.upstream.start(upstreamRequest, headTimeoutNanos: services.timeout(for: step.provider))
        exchange.onCancel = { [services] in services.upstream.cancel(transfer) }
        defer { exchange.onCancel = nil }

        switch await transfer.responseHead() {
        case .failure(let failure):
            return .failed(failed(failure))
        case .success(let status) where !(200...299).contains(status):
            let body = (try? await transfer.completion().get()) ?? []
            var error = provider.translateError(status: status, headers: transfer.headers, body: body)
            // Gemini puts its wait in the error body (RetryInfo), which its translator reads.
            let retryAfter = Self.retryAfterSeconds(transfer.header("retry-after"))
                ?? Self.retryAfterSeconds(error.retryAfter)
            if status == 429, let retryAfter { error.retryAfter = String(retryAfter) }
            report(status: status, retryAfterSeconds: retryAfter)
            return .failed(error)
        case .success:
            break
        }

        let translation = TranslationContext(
            requestID: context.requestID, model: step.model,
            created: Int(Timestamp.now().millisecondsSinceEpoch / 1000), includeUsage: request.includeUsage)
        if request.stream {
            let relay = StreamRelay(services: services, exchange: exchange, transfer: transfer, provider: provider)
            switch await relay.relay(translation: translation, context: &context) {
            case .finished:
                report(status: 200, retryAfterSeconds: nil)
                return .answered
            case .failedBeforeFirstByte(let error):
                if error.retryable { report(failure: error) }
                return .failed(error)
            }
        }
        let body: [UInt8]
        switch await transfer.completion() {
        case .failure(let failure): return .failed(failed(failure))
        case .success(let bytes): body = bytes
        }
        let answer: TranslatedResponse
        do {
            answer = try provider.translateResponse(body, context: translation)
        } catch {
            report(failure: error)
            return .failed(error)
        }
        report(status: 200, retryAfterSeconds: nil)
        context.model = answer.model
        services.account(answer.usage, context: &context, sentModel: step.model)
        exchange.send(.json(200, bytes: answer.bytes, headers: context.headers(now: services.loop.now)))
        services.record(context, status: 200, errorType: nil)
        return .answered
    }

    /// A transport failure: counted, fed to the circuit breaker, turned into the client's error.
    private func failed(_ failure: UpstreamFailure) -> GatewayError {
        let outcome: Metric.UpstreamOutcome = failure == .timeout || failure == .idleTimeout ? .timeout : .connectionError
        if failure != .cancelled {
            services.countUpstream(step.provider, outcome)
            services.health.recordFailure(step.provider, now: services.loop.now, wasProbe: isProbe)
        }
        return failure.gatewayError(provider: step.provider)
    }

    /// An HTTP answer from the provider: counted and fed to the shared health.
    private func report(status: Int, retryAfterSeconds: Int?) {
        let now = services.loop.now
        switch status {
        case 200...299:
            services.countUpstream(step.provider, .ok)
            services.health.recordSuccess(step.provider)
        case 429:
            services.countUpstream(step.provider, .rateLimited)
            services.health.recordRateLimited(
                step.provider, retryAfterNanos: retryAfterSeconds.map { UInt64($0) * 1_000_000_000 }, now: now)
        case 500...:
            services.countUpstream(step.provider, .serverError)
            services.health.recordFailure(step.provider, now: now, wasProbe: isProbe)
        default:
            // The provider is up and refused the request itself.
            services.countUpstream(step.provider, .clientError)
            services.health.recordSuccess(step.provider)
        }
    }

    /// A 2xx whose body or stream failed before anything reached the client.
    private func report(failure: GatewayError) {
        services.countUpstream(step.provider, .serverError)
        services.health.recordFailure(step.provider, now: services.loop.now, wasProbe: isProbe)
    }

    /// `Retry-After` in whole seconds (the HTTP-date form is not used by these providers).
    static func retryAfterSeconds(_ value: String?) -> Int? {
        guard let value, !value.isEmpty, value.count <= 6, value.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(value)
    }
}
