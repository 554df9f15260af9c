import Common

/// Sends each request to the handler for its route, and counts it under that route. Routes are
/// matched by exact path: no pattern matching on the hot path.
@LoopActor
final class Router: HTTPResponder {
    private let stats: SharedStats
    private unowned let server: HTTPServerContext
    private let services: WorkerServices
    private let chat: ChatCompletionHandler
    private let models: ModelsHandler
    private let admin: AdminHandler

    init(stats: SharedStats, server: HTTPServerContext, services: WorkerServices) {
        self.stats = stats
        self.server = server
        self.services = services
        chat = ChatCompletionHandler(services: services)
        models = ModelsHandler(services: services)
        admin = AdminHandler(services: services)
    }

    func respond(to exchange: HTTPExchange) {
        let request = exchange.request
        switch request.path {
        case "/v1/chat/completions", "/chat/completions":
            exchange.route = .chatCompletions
            guard allow(exchange, "POST") else { return }
            chat.handle(exchange)
        case "/v1/models", "/models":
            exchange.route = .models
            guard allow(exchange, "GET") else { return }
            models.handle(exchange)
        case "/healthz":
            exchange.route = .healthz
            guard allow(exchange, "GET", "HEAD") else { return }
            exchange.send(.json(200, "{\"status\":\"ok\"}"))
        case "/readyz":
            exchange.route = .readyz
            guard allow(exchange, "GET", "HEAD") else { return }
            if server.isDraining {
                exchange.send(error: .serviceUnavailable("This worker is shutting down.", code: "draining"))
                return
            }
            LoopActor.task { [services] in
                do throws(StoreError) {
                    try await services.store.run { store throws(StoreError) in try store.ping() }
                    exchange.send(.json(200, "{\"status\":\"ready\",\"store\":\"ok\"}"))
                } catch {
                    exchange.send(error: .serviceUnavailable("The database does not answer: \(error.kind.rawValue).", code: "store_unavailable"))
                }
            }
        case "/metrics":
            exchange.route = .metrics
            guard allow(exchange, "GET", "HEAD") else { return }
            let text = PrometheusExposition.render(stats.snapshot())
            exchange.send(HTTPResponse(status: 200, headers: [("Content-Type", PrometheusExposition.contentType)],
                body: Array(text.utf8)))
        case _ where request.path.hasPrefix("/admin/"):
            exchange.route = .admin
            admin.handle(exchange)
        default:
            exchange.route = .notFound
            exchange.send(error: .notFound(path: request.path))
        }
    }

    private func allow(_ exchange: HTTPExchange, _ methods: String...) -> Bool {
        if methods.contains(exchange.request.method) { return true }
        exchange.send(
            error: .methodNotAllowed(exchange.request.method, path: exchange.request.path,
                allowed: methods.joined(separator: " or ")),
            headers: [("Allow", methods.joined(separator: ", "))])
        return false
    }
}
