import Common

/// Sends each request to the handler for its route, and counts it under that route. Routes are
/// matched by exact path: no pattern matching on the hot path.
@LoopActor
final class Router: HTTPResponder {
    private let stats: SharedStats
    private unowned let server: HTTPServerContext

    init(stats: SharedStats, server: HTTPServerContext) {
        self.stats = stats
        self.server = server
    }

    func respond(to exchange: HTTPExchange) {
        let request = exchange.request
        switch request.path {
        case "/healthz":
            exchange.route = .healthz
            guard allow(exchange, "GET", "HEAD") else { return }
            exchange.send(.json(200, "{\"status\":\"ok\"}"))
        case "/readyz":
            exchange.route = .readyz
            guard allow(exchange, "GET", "HEAD") else { return }
            if server.isDraining {
                exchange.send(error: .serviceUnavailable("This worker is shutting down.", code: "draining"))
            } else {
                exchange.send(.json(200, "{\"status\":\"ready\"}"))
            }
        case "/metrics":
            exchange.route = .metrics
            guard allow(exchange, "GET", "HEAD") else { return }
            let text = PrometheusExposition.render(stats.snapshot())
            exchange.send(HTTPResponse(status: 200, headers: [("Content-Type", PrometheusExposition.contentType)],
                body: Array(text.utf8)))
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
