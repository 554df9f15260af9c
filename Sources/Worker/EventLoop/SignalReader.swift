import CGatewayLinux
import Common

#if canImport(Glibc)
import Glibc
#endif

/// Receives blocked signals through a signalfd on the loop, so no Swift code runs in a signal handler.
@LoopActor
final class SignalReader: EventHandler {
    let fd: Int32
    private let onSignal: (Int32) -> Void

    init(signals: [Int32], onSignal: @escaping (Int32) -> Void) throws(SystemError) {
        var mask = sigset_t()
        let list = signals.map { Int32($0) }
        guard cgl_block_signals(list, Int32(list.count), &mask) == 0 else { throw SystemError("pthread_sigmask") }
        fd = cgl_signalfd(&mask)
        guard fd >= 0 else { throw SystemError("signalfd") }
        self.onSignal = onSignal
    }

    func handleEvent(_ events: UInt32) {
        while true {
            var sender: Int32 = 0
            let signal = cgl_signalfd_read(fd, &sender)
            guard signal > 0 else { return }
            onSignal(Int32(signal))
        }
    }
}
