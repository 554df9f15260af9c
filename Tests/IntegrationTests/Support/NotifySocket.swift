import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's NOTIFY_SOCKET: collects every message sent to it.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private(set) var messages: [(time: Date, text: String)] = []

    init() throws {
        path = "/tmp/llm0-notify-\(UUID().uuidString.prefix(8)).sock"
        _ = TestConnection.descriptorLimitRaised
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw TestClientError.connect(errno) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Reads whatever arrives within `seconds`.
    func collect(for seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { messages.append((Date(), String(decoding: buffer[0..<count], as: UTF8.self))) }
        }
    }

    /// Reads until a message containing `text` arrives (bounded); true if it did.
    func waitFor(_ text: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                messages.append((Date(), message))
                if message.contains(text) { return true }
            }
        }
        return false
    }

    func count(of text: String, since: Date) -> Int {
        messages.filter { $0.time >= since && $0.text.contains(text) }.count
    }
}
