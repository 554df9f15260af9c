import CGatewayLinux
import CSystemd
import Common

#if canImport(Glibc)
import Glibc
#endif

/// Talks to systemd through `NOTIFY_SOCKET` (sd_notify). Only the supervisor ever notifies: the
/// variables are removed from the environment workers are given.
struct SystemdNotifier {
    /// Whether a service manager listens at all; without one every call is skipped.
    let isEnabled: Bool
    /// Half of WATCHDOG_USEC, when systemd's watchdog is on for this process.
    let watchdogIntervalNanos: UInt64?

    init(environment: [String: String]) {
        isEnabled = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
        var usec: UInt64 = 0
        if sd_watchdog_enabled(0, &usec) > 0, usec > 0 {
            watchdogIntervalNanos = usec * 1000 / 2
        } else {
            watchdogIntervalNanos = nil
        }
    }

    func notify(_ message: String) {
        guard isEnabled else { return }
        _ = sd_notify(0, message)
    }

    func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }

    func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(cgl_monotonic_ns() / 1000)\nSTATUS=Reloading configuration")
    }

    func stopping() { notify("STOPPING=1\nSTATUS=Draining connections") }

    func status(_ line: String) { notify("STATUS=\(line)") }

    func watchdog() { notify("WATCHDOG=1") }
}
