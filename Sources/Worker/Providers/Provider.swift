import Common

/// One upstream provider, as pure translation between OpenAI's Chat Completions API (what
/// clients speak) and the provider's own wire format. No I/O: the pipeline sends what
/// `makeRequest` builds and feeds back what arrives, so every mapping is tested with golden files.
protocol Provider: Sendable {
    var id: ProviderID { get }

    /// Translates a validated client request for `model` (the provider's own name for it).
    /// Throws a 400 `GatewayError` naming the field when the request cannot be expressed for
    /// this provider (never forwards what the provider would reject).
    func makeRequest(_ request: ChatRequest, model: String, stream: Bool, credentials: ProviderCredentials)
        throws(GatewayError) -> UpstreamRequest

    /// Translates a successful (2xx) non-streaming response body.
    func translateResponse(_ body: [UInt8], context: TranslationContext) throws(GatewayError) -> TranslatedResponse

    /// Translates an error response into OpenAI's shape with the status the client should see,
    /// marked retryable when another provider may be tried (429, 5xx, 529).
    func translateError(status: Int, headers: [UpstreamRequest.Header], body: [UInt8]) -> GatewayError

    /// A decoder for one streaming response body.
    func makeStreamTranslator(context: TranslationContext) -> any StreamTranslator
}

/// Turns a provider's streaming body, fed in pieces split anywhere, into OpenAI chunks.
protocol StreamTranslator: Sendable {
    mutating func consume(_ bytes: [UInt8]) -> [StreamOutput]
    /// The body ended. `.done` comes from `consume` as soon as the provider's end marker
    /// arrives; here a truncated stream (no end marker) yields `.error`, a complete one nothing.
    mutating func finish() -> [StreamOutput]
}

/// Where and how to reach a provider.
struct ProviderCredentials: Sendable, Equatable {
    var apiKey: String
    /// As the provider's SDKs take it: OpenAI's includes `/v1`, Anthropic's and Gemini's do not.
    var baseURL: String
}
