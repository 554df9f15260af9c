import Common

/// Anthropic's Messages API (`POST {baseURL}/v1/messages`) behind OpenAI's Chat Completions.
///
/// Pure translation in four parts: `AnthropicRequestTranslator` builds the request body,
/// `AnthropicResponseTranslator` reads a complete message, `AnthropicStreamTranslator` turns the
/// named SSE events into chunks, and `AnthropicErrorTranslator` maps error bodies. Ids derive
/// from Anthropic's message id or the request id, never from a clock or randomness.
struct AnthropicProvider: Provider {
    var id: ProviderID { .anthropic }

    /// The only version the official SDKs send; the request and event shapes here are its.
    static let apiVersion = "2023-06-01"

    func makeRequest(_ request: ChatRequest, model: String, stream: Bool, credentials: ProviderCredentials)
        throws(GatewayError) -> UpstreamRequest
    {
        let body = try AnthropicRequestTranslator(model: model, stream: stream).body(for: request)
        var baseURL = Substring(credentials.baseURL)
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        return UpstreamRequest(
            url: baseURL + "/v1/messages",
            headers: [
                .init("x-api-key", credentials.apiKey),
                .init("anthropic-version", Self.apiVersion),
                .init("content-type", "application/json"),
            ],
            body: JSONValue.object(body).serialized())
    }

    func translateResponse(_ body: [UInt8], context: TranslationContext) throws(GatewayError) -> TranslatedResponse {
        try AnthropicResponseTranslator.translate(body, context: context)
    }

    func translateError(status: Int, headers: [UpstreamRequest.Header], body: [UInt8]) -> GatewayError {
        AnthropicErrorTranslator.translate(status: status, body: body)
    }

    func makeStreamTranslator(context: TranslationContext) -> any StreamTranslator {
        AnthropicStreamTranslator(context: context)
    }
}
