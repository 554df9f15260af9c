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
      migrate        apply pending database migrations and exit
      keys           create, list or revoke gateway keys (gateway keys help)
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
case "migrate":
    exit(withConfig { StoreCommandLine.migrate($0) })
case "keys":
    exit(withConfig { StoreCommandLine.keys(Array(arguments.dropFirst()), config: $0) })
case "version", "--version", "-v":
    print("llm0-gateway \(version)")
case "help", "--help", "-h":
    print(usage)
default:
    printError("gateway: unknown command '\(command)'\n\(usage)\n")
    exit(64)
}

/// Loads the configuration for a one-shot command, or prints why it cannot.
func withConfig(_ body: (GatewayConfig) -> Int32) -> Int32 {
    do {
        return body(try GatewayConfig.load(from: EnvironmentFile.merged(environment: currentEnvironment())))
    } catch {
        printError("gateway: \(error)\n")
        return 1
    }
}

/// Applies migrations and checks the test key before any worker starts: a production gateway
/// refuses to run while the well-known test key works.
func prepareStore(_ config: GatewayConfig, logger: Logger) -> Bool {
    do {
        let store = try StoreCommands.open(config)
        let applied = try StoreCommands.migrate(store)
        if !applied.isEmpty { logger.info("migrations applied", ["versions": .string(applied.joined(separator: ","))]) }
        if try StoreCommands.isTestKeyActive(store) {
            if config.isProduction {
                logger.error("the test key gw_test_abc123 is active; revoke it (gateway keys revoke key_test) before running with GATEWAY_ENV=production")
                return false
            }
            logger.warn("THE TEST KEY gw_test_abc123 IS ACTIVE: anyone who knows it can use this gateway. Revoke it with 'gateway keys revoke key_test' once you have your own keys.")
        }
        return true
    } catch {
        logger.error("cannot prepare the database", ["error": .string("\(error)")])
        return false
    }
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
    guard prepareStore(config, logger: logger) else { return 1 }
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


/// Writes to stderr unbuffered (no shared FILE state).
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}
