#if canImport(Glibc)
import Glibc
#endif

/// The whole configuration, read and validated once at start (and again on SIGHUP), then passed
/// down as one value. Field names follow the variables of CONTRACT.md.
public struct GatewayConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var workers: Int
    public var dataDirectory: String
    public var maxRequestBytes: Int
    public var maxHeaderBytes: Int
    /// How long a client may take to send a request head once it started one.
    public var headerTimeoutNanos: UInt64
    /// How long an idle keep-alive connection is kept.
    public var keepAliveTimeoutNanos: UInt64
    /// Open client connections one worker accepts before it stops accepting for a moment.
    public var maxConnectionsPerWorker: Int
    public var shutdownGraceNanos: UInt64
    public var logLevel: LogLevel
    public var environmentName: String
    public var openAI: ProviderSettings
    public var anthropic: ProviderSettings
    public var gemini: ProviderSettings
    /// Time allowed per upstream attempt until its response headers arrive.
    public var upstreamTimeoutNanos: UInt64
    /// Longest silence allowed inside an upstream stream.
    public var upstreamIdleTimeoutNanos: UInt64
    /// `postgres://…`; nil selects the embedded SQLite database.
    public var databaseURL: String?
    /// Bearer token of the admin API; nil turns the admin API off.
    public var adminToken: String?
    /// Requests per minute for keys without a limit of their own.
    public var rateLimitRPM: Int
    /// Failover and per-provider settings from the GATEWAY_CONFIG file (defaults when unset).
    public var routing: RoutingConfig
    /// The variables this value was made from, so a worker can be given exactly the same input.
    public var variables: [String: String]

    public var isProduction: Bool { environmentName == "production" }

    /// Reads and validates every variable; the first bad one throws, naming it.
    public static func load(from variables: [String: String]) throws(ConfigError) -> GatewayConfig {
        let reader = VariableReader(variables)
        let workers = try reader.integer("WORKERS", default: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), range: 1...256)
        let maxHeader = try reader.integer("MAX_HEADER_BYTES", default: 32768, range: 1024...1_048_576)
        return GatewayConfig(
            host: try reader.host("HOST", default: "0.0.0.0"),
            port: try reader.integer("PORT", default: 8080, range: 0...65535),
            workers: workers,
            dataDirectory: try reader.nonEmpty("GATEWAY_DATA_DIR", default: "./data"),
            maxRequestBytes: try reader.integer("MAX_REQUEST_BYTES", default: 10_485_760, range: 1...1 << 30),
            maxHeaderBytes: maxHeader,
            headerTimeoutNanos: try reader.duration("HEADER_TIMEOUT", default: "10s", min: 1_000_000),
            keepAliveTimeoutNanos: try reader.duration("KEEPALIVE_TIMEOUT", default: "75s", min: 1_000_000),
            maxConnectionsPerWorker: try reader.integer(
                "MAX_CONNECTIONS", default: 100_000, range: 1...10_000_000),
            shutdownGraceNanos: try reader.duration("SHUTDOWN_GRACE", default: "30s", min: 0),
            logLevel: try reader.logLevel("LOG_LEVEL", default: .info),
            environmentName: try reader.oneOf(
                "GATEWAY_ENV", default: "development", allowed: ["development", "production", "test"]),
            openAI: try reader.provider(key: "OPENAI_API_KEY", url: "OPENAI_BASE_URL", default: "https://api.openai.com/v1"),
            anthropic: try reader.provider(
                key: "ANTHROPIC_API_KEY", url: "ANTHROPIC_BASE_URL", default: "https://api.anthropic.com"),
            gemini: try reader.provider(
                key: "GEMINI_API_KEY", url: "GEMINI_BASE_URL", default: "https://generativelanguage.googleapis.com"),
            upstreamTimeoutNanos: try reader.duration("UPSTREAM_TIMEOUT", default: "30s", min: 1_000_000),
            upstreamIdleTimeoutNanos: try reader.duration("UPSTREAM_IDLE_TIMEOUT", default: "60s", min: 1_000_000),
            databaseURL: try reader.databaseURL("DATABASE_URL"),
            adminToken: try reader.secret("ADMIN_TOKEN", minimumLength: 16),
            rateLimitRPM: try reader.integer("RATE_LIMIT_RPM", default: 100, range: 1...1_000_000_000),
            routing: try reader.value("GATEWAY_CONFIG").map { path throws(ConfigError) in try RoutingConfig.load(path: path) }
                ?? RoutingConfig(),
            variables: variables
        )
    }

    /// The effective configuration as `NAME=value` lines, secrets masked, for `gateway check-config`.
    public func describe() -> [String] {
        [
            "HOST=\(host)", "PORT=\(port)", "WORKERS=\(workers)", "GATEWAY_DATA_DIR=\(dataDirectory)",
            "MAX_REQUEST_BYTES=\(maxRequestBytes)", "MAX_HEADER_BYTES=\(maxHeaderBytes)",
            "HEADER_TIMEOUT=\(Self.format(headerTimeoutNanos))",
            "KEEPALIVE_TIMEOUT=\(Self.format(keepAliveTimeoutNanos))",
            "MAX_CONNECTIONS=\(maxConnectionsPerWorker)",
            "SHUTDOWN_GRACE=\(Self.format(shutdownGraceNanos))", "LOG_LEVEL=\(logLevel.name)",
            "GATEWAY_ENV=\(environmentName)",
            "OPENAI_API_KEY=\(Self.mask(openAI.apiKey))", "OPENAI_BASE_URL=\(openAI.baseURL)",
            "ANTHROPIC_API_KEY=\(Self.mask(anthropic.apiKey))", "ANTHROPIC_BASE_URL=\(anthropic.baseURL)",
            "GEMINI_API_KEY=\(Self.mask(gemini.apiKey))", "GEMINI_BASE_URL=\(gemini.baseURL)",
            "UPSTREAM_TIMEOUT=\(Self.format(upstreamTimeoutNanos))",
            "UPSTREAM_IDLE_TIMEOUT=\(Self.format(upstreamIdleTimeoutNanos))",
            "DATABASE_URL=\(databaseURL.map(Self.maskPassword) ?? "(unset: SQLite at \(dataDirectory)/gateway.db)")",
            "ADMIN_TOKEN=\(adminToken == nil ? "(unset: admin API off)" : "********")",
            "RATE_LIMIT_RPM=\(rateLimitRPM)",
            "GATEWAY_CONFIG=\(variables["GATEWAY_CONFIG"] ?? "(unset: built-in failover)")",
            "failover: \(routing.failoverEnabled ? "on" : "off"), max_attempts \(routing.maxAttempts), \(routing.chains.count) explicit chain(s)",
        ]
    }

    static func mask(_ secret: String?) -> String { secret == nil ? "(unset)" : "********" }

    /// A database URL with its password replaced, safe to print.
    public static func maskPassword(_ url: String) -> String {
        let parts = url.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let schemeEnd = parts[0].firstIndex(of: "/") else { return url }
        let credentials = parts[0][schemeEnd...].drop(while: { $0 == "/" })
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(parts[0][..<colon]) + ":********@" + parts[1]
    }

    static func format(_ nanos: UInt64) -> String {
        nanos % 1_000_000_000 == 0 ? "\(nanos / 1_000_000_000)s" : "\(nanos / 1_000_000)ms"
    }
}

/// How to reach one provider; it is enabled when its key is set.
public struct ProviderSettings: Sendable, Equatable {
    public var apiKey: String?
    public var baseURL: String
}

/// Typed access to the variables, each failure naming the variable and what it accepts.
struct VariableReader {
    let variables: [String: String]

    init(_ variables: [String: String]) { self.variables = variables }

    /// The value, or nil when unset or empty (an empty variable means "use the default").
    func value(_ name: String) -> String? {
        guard let raw = variables[name]?.trimmingASCIIWhitespace(), !raw.isEmpty else { return nil }
        return raw
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigError(name, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func duration(_ name: String, default fallback: String, min: UInt64) throws(ConfigError) -> UInt64 {
        let text = value(name) ?? fallback
        guard let nanos = DurationParser.nanoseconds(text), nanos >= min else {
            throw ConfigError(name, "expected a duration such as 500ms, 30s, 2m or a number of seconds")
        }
        return nanos
    }

    func logLevel(_ name: String, default fallback: LogLevel) throws(ConfigError) -> LogLevel {
        guard let text = value(name) else { return fallback }
        guard let level = LogLevel(name: text) else {
            throw ConfigError(name, "expected debug, info, warn or error")
        }
        return level
    }

    func oneOf(_ name: String, default fallback: String, allowed: [String]) throws(ConfigError) -> String {
        guard let text = value(name) else { return fallback }
        guard allowed.contains(text) else {
            throw ConfigError(name, "expected one of \(allowed.joined(separator: ", "))")
        }
        return text
    }

    func nonEmpty(_ name: String, default fallback: String) throws(ConfigError) -> String {
        value(name) ?? fallback
    }

    func provider(key: String, url: String, default fallback: String) throws(ConfigError) -> ProviderSettings {
        let base = value(url) ?? fallback
        guard base.hasPrefix("https://") || base.hasPrefix("http://"), base.count > 8, !base.contains(" ") else {
            throw ConfigError(url, "expected an http:// or https:// URL")
        }
        return ProviderSettings(apiKey: value(key), baseURL: base)
    }

    func databaseURL(_ name: String) throws(ConfigError) -> String? {
        guard let text = value(name) else { return nil }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw ConfigError(name, "expected a postgres:// or postgresql:// URL (unset it for the embedded SQLite database)")
        }
        return text
    }

    func secret(_ name: String, minimumLength: Int) throws(ConfigError) -> String? {
        guard let text = value(name) else { return nil }
        guard text.count >= minimumLength else {
            throw ConfigError(name, "must be at least \(minimumLength) characters")
        }
        return text
    }

    func host(_ name: String, default fallback: String) throws(ConfigError) -> String {
        guard let text = value(name) else { return fallback }
        let allowed = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:_[]".contains($0)) }
        guard allowed, text.count <= 253 else {
            throw ConfigError(name, "expected an IP address or a host name")
        }
        return text
    }
}
