/// A provider URL taken apart for one request: where to connect, and what to put on the
/// request line and in the Host header. Only http and https; no user info.
struct UpstreamURL: Equatable {
    /// "https://api.openai.com:443": connections are pooled under it.
    var origin: String
    var isTLS: Bool
    /// As written: a name, an IPv4 address, or an IPv6 address without its brackets.
    var host: String
    var port: UInt16
    /// The Host header: the host as written, with the port when it is not the scheme's.
    var authority: String
    /// The path and query, at least "/".
    var target: String

    init?(_ url: String) {
        let bytes = url.utf8
        let isTLS: Bool
        let rest: Substring.UTF8View
        if bytes.starts(with: "https://".utf8) {
            isTLS = true
            rest = url.utf8.dropFirst(8)
        } else if bytes.starts(with: "http://".utf8) {
            isTLS = false
            rest = url.utf8.dropFirst(7)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        let authority = Substring(rest[..<authorityEnd])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = authority
        var port: UInt16 = isTLS ? 443 : 80
        if authority.hasPrefix("[") {
            // [::1]:8080
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = UInt16(after.dropFirst()), value > 0 else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let value = UInt16(authority[authority.index(after: colon)...]), value > 0 else { return nil }
            host = authority[..<colon]
            port = value
        }
        guard !host.isEmpty else { return nil }
        self.isTLS = isTLS
        self.host = String(host)
        self.port = port
        self.authority = String(authority)
        let target = Substring(rest[authorityEnd...])
        self.target = target.isEmpty ? "/" : target.hasPrefix("?") ? "/" + target : String(target)
        origin = (isTLS ? "https://" : "http://") + self.authority
    }
}
