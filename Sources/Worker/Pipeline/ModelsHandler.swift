import Common

/// `GET /v1/models`: the models reachable with the configured providers, in OpenAI's list shape.
/// Like OpenAI's, it needs a key.
@LoopActor
final class ModelsHandler {
    private let services: WorkerServices

    init(services: WorkerServices) { self.services = services }

    func handle(_ exchange: HTTPExchange) {
        LoopActor.task { [self] in
            do throws(GatewayError) {
                _ = try await RequestAuthenticator(keys: services.keys).authenticate(exchange.request)
                exchange.send(.json(200, listing().jsonText))
            } catch {
                var headers: [(name: String, value: String)] = []
                if error.status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
                exchange.send(error: error, headers: headers)
            }
        }
    }

    func listing() -> JSONValue {
        let enabled = Set(services.providers.enabled.map(\.rawValue))
        let models = services.prices.all.filter { enabled.contains($0.provider) }
        return [
            "object": "list",
            "data": .array(models.map { price in
                ["id": .string(price.model), "object": "model", "created": 0, "owned_by": .string(price.provider)]
            }),
        ]
    }
}
