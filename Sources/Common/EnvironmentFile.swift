#if canImport(Glibc)
import Glibc
#endif

/// The variables the gateway reads: the process environment over an optional `.env` file in the
/// working directory (the real environment wins, as with every dotenv tool).
public enum EnvironmentFile {
    /// The merged variables. A missing `.env` is not an error; an unreadable line is.
    public static func merged(
        environment: [String: String], dotEnvPath: String = ".env"
    ) throws(ConfigError) -> [String: String] {
        guard let text = readFile(dotEnvPath) else { return environment }
        var merged = try parse(text)
        for (key, value) in environment { merged[key] = value }
        return merged
    }

    /// Parses `KEY=VALUE` lines; `#` starts a comment line, `export ` is allowed, and single or
    /// double quotes around a value are removed.
    public static func parse(_ text: String) throws(ConfigError) -> [String: String] {
        var result: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(rawLine).trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingASCIIWhitespace() }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(".env", "line \(number + 1) is not KEY=VALUE")
            }
            let key = String(line[..<equals]).trimmingASCIIWhitespace()
            var value = String(line[line.index(after: equals)...]).trimmingASCIIWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ConfigError(".env", "line \(number + 1) has an invalid variable name")
            }
            result[key] = value
        }
        return result
    }

    static func readFile(_ path: String) -> String? {
        FileSystem.readBytes(path, limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) }
    }
}
