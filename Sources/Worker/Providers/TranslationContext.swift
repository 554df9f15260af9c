import Common

/// What a translator needs to know about the request it translates an answer for.
struct TranslationContext: Sendable, Equatable {
    /// Used to derive the `chatcmpl-…` id when the provider's own id does not fit.
    var requestID: String
    /// The model that served, as sent upstream; reported when the provider's answer names none.
    var model: String
    /// Unix seconds, for the `created` field.
    var created: Int
    /// The client asked for a final usage chunk (`stream_options.include_usage`).
    var includeUsage: Bool
}

/// A complete (non-streaming) answer translated to OpenAI's `chat.completion`.
struct TranslatedResponse: Sendable, Equatable {
    /// The answer as JSON; for a pass-through answer (`passthrough` set), only the members the
    /// translator read from it.
    var body: JSONValue
    var usage: Usage
    /// The `model` the answer names.
    var model: String
    /// The provider's own bytes, when they already are the client's answer (OpenAI): sent as they
    /// came instead of serializing `body` again.
    var passthrough: [UInt8]? = nil

    /// The body to send to the client.
    var bytes: [UInt8] { passthrough ?? body.serialized() }
}

/// What a stream translator produces from upstream bytes, in order.
enum StreamOutput: Sendable, Equatable {
    /// An OpenAI `chat.completion.chunk` to send to the client as one `data:` event.
    case chunk(JSONValue)
    /// A chunk already in OpenAI's format, as its JSON text (OpenAI's own, passed on).
    case rawChunk([UInt8])
    /// The stream's token usage (always reported, whether or not the client asked for the chunk).
    case usage(Usage)
    /// The upstream failed mid-stream: the client gets this error event and no `[DONE]`.
    case error(GatewayError)
    /// The upstream finished normally: the client gets `data: [DONE]`.
    case done
}
