import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// The worker's end of its SOCK_SEQPACKET socketpair with the supervisor: one message per packet.
/// End of file means the supervisor is gone, and is reported as a nil message.
@LoopActor
final class ControlChannel: EventHandler {
    let fd: Int32
    private let onMessage: (String?) -> Void
    private var isOpen = true

    init(fd: Int32, onMessage: @escaping (String?) -> Void) {
        self.fd = fd
        self.onMessage = onMessage
        _ = cgl_set_nonblocking(fd, 1)
        _ = cgl_set_cloexec(fd, 1)
    }

    func send(_ message: String) {
        guard isOpen else { return }
        var bytes = Array(message.utf8)
        _ = Glibc.send(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }

    func handleEvent(_ events: UInt32) {
        var buffer = [UInt8](repeating: 0, count: 512)
        while isOpen {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                onMessage(String(decoding: buffer[0..<count], as: UTF8.self))
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                isOpen = false
                onMessage(nil)
                return
            } else if errno != EINTR {
                return
            }
        }
    }
}
