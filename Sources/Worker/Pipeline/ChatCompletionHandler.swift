import Common

/// `POST /v1/chat/completions`: authenticate, validate, then try the failover chain of
/// providers until one answers (streaming chunk by chunk), price, log. Runs as a task on the loop.
@LoopActor
final class ChatCompletionHandler {
    private let services: WorkerServices

    init(services: WorkerServices) { self.services = services }

    func handle(_ exchange: HTTPExchange) {
        LoopActor.task { [self] in await self.process(exchange) }
    }

    private func process(_ exchange: HTTPExchange) async {
        var context = RequestContext(
            requestID: RequestHeaders.requestID(exchange.request) ?? services.newRequestID(),
            startedAt: exchange.startedAt)
        do {
            context.identity = try await RequestAuthenticator(keys: services.keys).authenticate(exchange.request)
            context.customerID = RequestHeaders.customerID(exchange.request) ?? context.identity?.customerID
            context.labels = RequestHeaders.labels(exchange.request)
            let request = try ChatRequest.parse(exchange.request.body)
            context.requestedModel = request.model
            context.stream = request.stream
            try await complete(request, context: &context, exchange: exchange)
        } catch {
            fail(exchange, context: context, error: error)
        }
    }

    private func complete(_ request: ChatRequest, context: inout RequestContext, exchange: HTTPExchange) async throws(GatewayError) {
        guard let (providerID, model) = ProviderID.resolve(request.model) else {
            throw GatewayError(
                status: 404, type: "invalid_request_error", code: "model_not_found", param: "model",
                message: "The model '\(request.model.prefix(100))' is not known to the gateway. Use a gpt-*, o1/o3/o4*, chatgpt-*, claude-* or gemini-* model, or name the provider: openai/…, anthropic/…, gemini/….")
        }
        // A model whose own provider is not configured is refused, never silently served elsewhere.
        guard services.providers.credentials(for: providerID) != nil else {
            throw GatewayError.serviceUnavailable(
                "The model '\(model.prefix(100))' is served by \(providerID.displayName), which is not configured: set \(providerID.apiKeyVariable).",
                code: "provider_not_configured")
        }
        let failover = exchange.request.headers.first("X-LLM0-Failover")?.lowercased() != "off"
        let chain = services.planner.chain(
            for: AttemptStep(provider: providerID, model: model), requestedModel: request.model,
            enabled: services.providers.enabled, failover: failover)
        var errors: [GatewayError] = []
        var soonest: UInt64?
        for (index, step) in chain.enumerated() {
            if exchange.isCancelled { throw UpstreamFailure.cancelled.gatewayError(provider: step.provider) }
            let availability = services.health.availability(step.provider, now: services.loop.now)
            if case .unavailable(let until) = availability {
                soonest = min(soonest ?? until, until)
                continue
            }
            if context.attempts > 0 { services.stats.add(Metric.failovers) }
            context.attempts += 1
            context.provider = step.provider
            context.model = step.model
            let attempt = UpstreamAttempt(services: services, exchange: exchange, request: request, step: step,
                isProbe: availability == .probe, isFirst: index == 0)
            switch await attempt.run(context: &context) {
            case .answered:
                return
            case .failed(let error):
                errors.append(error)
                guard error.retryable else { throw error }
            }
        }
        guard var last = errors.last else {
            // Every provider of the chain is cooling down: say so at once instead of waiting.
            var error = GatewayError.serviceUnavailable(
                "Every provider that can serve '\(request.model.prefix(100))' is temporarily unavailable; retry shortly.",
                code: "providers_unavailable")
            if let soonest { error.retryAfter = String(max(1, (soonest &- services.loop.now + 999_999_999) / 1_000_000_000)) }
            throw error
        }
        if last.status == 429 && !errors.allSatisfy({ $0.status == 429 }) {
            last.status = 503
            last.type = "service_unavailable"
        }
        throw last
    }

    private func fail(_ exchange: HTTPExchange, context: RequestContext, error: any Error) {
        let gatewayError = (error as? GatewayError)
            ?? GatewayError(status: 500, type: "api_error", message: "The gateway failed to handle the request.")
        var headers = context.headers(now: services.loop.now)
        if let retry = gatewayError.retryAfter { headers.append(("Retry-After", retry)) }
        if gatewayError.status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
        exchange.send(error: gatewayError, headers: headers)
        services.record(context, status: exchange.isCancelled ? 499 : gatewayError.status, errorType: gatewayError.type)
    }
}
