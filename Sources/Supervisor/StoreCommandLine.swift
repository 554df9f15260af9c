import Common
import Worker

#if canImport(Glibc)
import Glibc
#endif

/// `gateway migrate` and `gateway keys …`: run against the configured store and exit.
enum StoreCommandLine {
    static func migrate(_ config: GatewayConfig) -> Int32 {
        do {
            let store = try StoreCommands.open(config)
            let applied = try StoreCommands.migrate(store)
            print(applied.isEmpty ? "migrations: up to date" : "migrations applied: \(applied.joined(separator: ", "))")
            return 0
        } catch {
            printError("gateway migrate: \(error)\n")
            return 1
        }
    }

    static func keys(_ arguments: [String], config: GatewayConfig) -> Int32 {
        let usage = """
            usage: gateway keys create --name NAME [--rpm N] [--customer ID]
                   gateway keys list
                   gateway keys revoke KEY_ID

            """
        guard let action = arguments.first else {
            printError(usage)
            return 64
        }
        let options = Self.options(Array(arguments.dropFirst()))
        do {
            let store = try StoreCommands.open(config)
            _ = try StoreCommands.migrate(store)
            switch action {
            case "create":
                guard let name = options["--name"] else {
                    printError("gateway keys create needs --name\n" + usage)
                    return 64
                }
                let rpm = options["--rpm"].flatMap(Int.init)
                if options["--rpm"] != nil && rpm == nil {
                    printError("--rpm takes a whole number\n")
                    return 64
                }
                let (record, plaintext) = try StoreCommands.createKey(
                    store, name: name, rateLimitRPM: rpm, customerID: options["--customer"])
                print(StoreCommands.describe(record))
                print("key: \(plaintext)")
                print("Store this key now: it is not shown again.")
            case "list":
                for record in try store.listKeys() { print(StoreCommands.describe(record)) }
            case "revoke":
                guard arguments.count == 2 else {
                    printError(usage)
                    return 64
                }
                guard try store.revokeKey(id: arguments[1]) else {
                    printError("no active key has the id \(arguments[1])\n")
                    return 1
                }
                print("revoked \(arguments[1]); every worker refuses it within 5 seconds")
            default:
                printError(usage)
                return 64
            }
            return 0
        } catch let error as GatewayError {
            printError("gateway keys: \(error.message)\n")
            return 1
        } catch {
            printError("gateway keys: \(error)\n")
            return 1
        }
    }

    static func options(_ arguments: [String]) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            if arguments[index].hasPrefix("--"), index + 1 < arguments.count {
                result[arguments[index]] = arguments[index + 1]
                index += 2
            } else {
                index += 1
            }
        }
        return result
    }
}
