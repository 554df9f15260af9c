/// An HTTP POST to a provider, ready to send: built by a provider's translator, sent by the
/// upstream client.
struct UpstreamRequest: Sendable, Equatable {
    var url: String
    var headers: [Header]
    var body: [UInt8]

    struct Header: Sendable, Equatable {
        var name: String
        var value: String
        init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
}
