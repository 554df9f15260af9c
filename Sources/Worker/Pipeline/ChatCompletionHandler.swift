import Common

/// `POST /v1/chat/completions`: authenticate, validate, route to the provider of the model,
/// translate there and back (streaming chunk by chunk), price, log. Runs as a task on the loop.
@LoopActor
final class ChatCompletionHandler {
    private let services: WorkerServices

    init(services: WorkerServices) { self.services = services }

    func handle(_ exchange: HTTPExchange) {
        Task { @LoopActor [self] in await self.process(exchange) }
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
        guard let provider = services.providers.translator(for: providerID),
            let credentials = services.providers.credentials(for: providerID)
        else {
            throw GatewayError.serviceUnavailable(
                "The model '\(model.prefix(100))' is served by \(providerID.displayName), which is not configured: set \(providerID.apiKeyVariable).",
                code: "provider_not_configured")
        }
        context.provider = providerID
        context.model = model
        let upstreamRequest = try provider.makeRequest(request, model: model, stream: request.stream, credentials: credentials)
        context.attempts += 1
        let transfer = services.upstream.start(upstreamRequest)
        exchange.onCancel = { [services] in services.upstream.cancel(transfer) }
        switch await transfer.responseHead() {
        case .failure(let failure):
            throw failure.gatewayError(provider: providerID)
        case .success(let status) where !(200...299).contains(status):
            let body = (try? await transfer.completion().get()) ?? []
            var error = provider.translateError(status: status, headers: transfer.headers, body: body)
            if status == 429, let retry = transfer.header("retry-after"), !retry.isEmpty, retry.count <= 6,
                retry.allSatisfy(\.isASCII), retry.allSatisfy(\.isNumber)
            {
                error.retryAfter = retry
            }
            throw error
        case .success:
            break
        }
        let translation = TranslationContext(
            requestID: context.requestID, model: model, created: Int(Timestamp.now().millisecondsSinceEpoch / 1000),
            includeUsage: request.includeUsage)
        if request.stream {
            await StreamRelay(services: services, exchange: exchange, transfer: transfer, provider: provider)
                .relay(translation: translation, context: &context)
        } else {
            let body: [UInt8]
            switch await transfer.completion() {
            case .failure(let failure): throw failure.gatewayError(provider: providerID)
            case .success(let bytes): body = bytes
            }
            let answer = try provider.translateResponse(body, context: translation)
            context.model = answer.model
            context.usage = answer.usage
            context.cost = price(answer.usage, context: context, sentModel: model)
            exchange.send(.json(200, answer.body.jsonText, headers: context.headers(now: services.loop.now)))
            services.record(context, status: 200, errorType: nil)
        }
    }

    private func price(_ usage: Usage, context: RequestContext, sentModel: String) -> Decimal12 {
        guard let price = services.prices.price(for: sentModel) ?? context.model.flatMap(services.prices.price(for:))
        else {
            if usage.totalTokens > 0 {
                services.logger.warn("no price for model; cost recorded as 0", ["model": .string(sentModel)])
            }
            return .zero
        }
        return PriceBook.cost(of: usage, at: price)
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
