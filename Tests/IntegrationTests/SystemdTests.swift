import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// systemd integration without systemd as PID 1: socket activation through Debian's
/// `systemd-socket-activate`, and notifications through a datagram socket the test owns.
@Suite(.serialized)
struct SystemdTests {
    static let socketActivate = "/usr/bin/systemd-socket-activate"

    @Test func servesOnTheSocketSystemdPasses() throws {
        let port = freePort()
        let gateway = try GatewayProcess(
            environment: [:],
            launcher: [Self.socketActivate, "-l", "127.0.0.1:\(port)", "-E", "WORKERS=2", "-E", "LOG_LEVEL=info"],
            port: port)
        #expect(gateway.workerPIDs().count == 2)
        #expect(gateway.log.contains("using sockets passed by systemd"))
        for _ in 0..<20 { #expect(try fetch(port: port, "/healthz").status == 200) }
        // Workers never see systemd's variables: only the supervisor talks to systemd.
        for worker in gateway.workerPIDs() {
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(worker)/environ"))) ?? Data()
            let text = String(decoding: environment, as: UTF8.self)
            #expect(!text.contains("LISTEN_FDS"))
        }
        gateway.signal(SIGTERM)
        #expect(gateway.waitForExit() == 0)
    }

    @Test func notifiesReadyReloadingStoppingAndStatus() throws {
        let notify = try NotifySocket()
        let gateway = try GatewayProcess(
            environment: ["NOTIFY_SOCKET": notify.path, "WORKERS": "2"], waitUntilServing: false)
        #expect(notify.waitFor("READY=1"), "no READY=1:\n\(gateway.log)")
        #expect(notify.messages.last?.text.contains("STATUS=workers 2/2") == true)
        for worker in gateway.workerPIDs() {
            let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(worker)/environ"))) ?? Data(), as: UTF8.self)
            #expect(!text.contains("NOTIFY_SOCKET"))
        }

        gateway.signal(SIGHUP)
        #expect(notify.waitFor("RELOADING=1"))
        let reloading = notify.messages.last!.text
        #expect(reloading.contains("MONOTONIC_USEC="))
        #expect(notify.waitFor("READY=1"), "no READY=1 after the reload")
        #expect(notify.waitFor("STATUS=workers 2/2", timeout: 10), "no periodic STATUS line")

        gateway.signal(SIGTERM)
        #expect(notify.waitFor("STOPPING=1"))
        #expect(gateway.waitForExit() == 0)
    }

    @Test func watchdogPingsOnlyWhileEveryWorkerBeats() throws {
        let notify = try NotifySocket()
        let gateway = try GatewayProcess(environment: [
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000", "WORKERS": "2",
        ])
        #expect(notify.waitFor("WATCHDOG=1", timeout: 5))
        let healthyFrom = Date()
        notify.collect(for: 2)
        #expect(notify.count(of: "WATCHDOG=1", since: healthyFrom) >= 3)

        // A worker that stops beating (stopped, as a hung one would be) stops the pings...
        let stopped = gateway.workerPIDs().first!
        kill(stopped, SIGSTOP)
        notify.collect(for: 2.5)
        let quietFrom = Date()
        notify.collect(for: 3)
        #expect(notify.count(of: "WATCHDOG=1", since: quietFrom) == 0, "watchdog kept pinging with a stopped worker")

        // ...and they resume once it beats again.
        kill(stopped, SIGCONT)
        #expect(notify.waitFor("WATCHDOG=1", timeout: 5))
        gateway.signal(SIGTERM)
        #expect(gateway.waitForExit() == 0)
    }
}
