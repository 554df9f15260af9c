import CGatewayLinux
import Common
import Worker

#if canImport(Glibc)
import Glibc
#endif

// The `gateway` executable. `serve` (the default) is the supervisor; `worker` is what the
// supervisor execs for each worker process. Signals are blocked before anything else can start
// a thread, so every thread inherits the mask and signals are only ever read from a signalfd.

let version = "0.1.0"
let usage = """
    usage: gateway [command]

    commands:
      serve          run the gateway in the foreground (the default)
      check-config   validate the configuration and print it, secrets masked
      version        print the version
      help           print this text
    """

let arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first ?? "serve"

switch command {
case "serve":
    exit(serveCommand())
case "worker":
    guard arguments.count >= 3, arguments[1] == "--slot", let slot = Int(arguments[2]),
        slot >= 0, slot < StatsLayout.slotCount
    else {
        printError("gateway worker is started by the supervisor, not by hand\n")
        exit(64)
    }
    WorkerEntry.main(slot: slot, variables: currentEnvironment())
case "check-config":
    do {
        let config = try GatewayConfig.load(from: EnvironmentFile.merged(environment: currentEnvironment()))
        for line in config.describe() { print(line) }
        exit(0)
    } catch {
        printError("\(error)\n")
        exit(1)
    }
case "version", "--version", "-v":
    print("llm0-gateway \(version)")
case "help", "--help", "-h":
    print(usage)
default:
    printError("gateway: unknown command '\(command)'\n\(usage)\n")
    exit(64)
}

/// The supervisor: configuration, sockets, workers; returns the exit status.
func serveCommand() -> Int32 {
    var mask = sigset_t()
    let handled: [Int32] = [SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT]
    _ = cgl_block_signals(handled, Int32(handled.count), &mask)
    _ = cgl_ignore_signal(SIGPIPE)
    let signalFD = cgl_signalfd(&mask)

    let environment = currentEnvironment()
    let config: GatewayConfig
    do {
        config = try GatewayConfig.load(from: EnvironmentFile.merged(environment: environment))
    } catch {
        printError("gateway: \(error)\n")
        return 1
    }
    let logger = Logger(level: config.logLevel, role: "supervisor")
    raiseDescriptorLimit()
    do {
        let supervisor = try Supervisor(
            config: config, logger: logger, baseEnvironment: environment, signalFD: signalFD)
        return supervisor.run()
    } catch {
        logger.error("cannot start", ["error": .string("\(error)")])
        return 1
    }
}

func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

func raiseDescriptorLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Writes to stderr unbuffered (no shared FILE state).
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}
