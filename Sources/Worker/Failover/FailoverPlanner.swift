import Common

/// One upstream attempt of a request: a provider and the model to ask it for.
struct AttemptStep: Sendable, Equatable {
    var provider: ProviderID
    var model: String
}

/// Builds the chain of attempts for a request: the requested model at its own provider first,
/// then (unless failover is off) the other configured providers in the order OpenAI, Anthropic,
/// Gemini with their equivalent model, or the chain the operator configured for the model.
struct FailoverPlanner: Sendable {
    let routing: RoutingConfig
    let tiers: TierMap

    init(routing: RoutingConfig) {
        self.routing = routing
        tiers = TierMap(routing: routing)
    }

    func chain(for first: AttemptStep, requestedModel: String, enabled: [ProviderID], failover: Bool) -> [AttemptStep] {
        guard failover && routing.failoverEnabled else { return [first] }
        var steps = [first]
        if let configured = routing.chains[requestedModel] ?? routing.chains[first.model] {
            for text in configured {
                guard let (provider, model) = ProviderID.resolve(text), enabled.contains(provider) else { continue }
                let step = AttemptStep(provider: provider, model: model)
                if !steps.contains(step) { steps.append(step) }
            }
        } else {
            for provider in ProviderID.allCases where provider != first.provider && enabled.contains(provider) {
                if let model = tiers.equivalent(of: first.model, on: provider) {
                    steps.append(AttemptStep(provider: provider, model: model))
                }
            }
        }
        if steps.count > routing.maxAttempts { steps.removeLast(steps.count - routing.maxAttempts) }
        return steps
    }
}
