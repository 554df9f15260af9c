#if canImport(Glibc)
import Glibc
#endif

/// Writes one JSON object per line to stderr: time, level, pid, worker, msg, then the fields.
/// Each line is one write(2) on an unbuffered descriptor, so lines from several processes
/// sharing stderr (journald, a terminal) never interleave mid-line and nothing waits in a buffer
/// when a process dies.
public struct Logger: Sendable {
    public var level: LogLevel
    /// "supervisor", or the worker's slot as "worker-N".
    public var role: String

    public init(level: LogLevel, role: String) {
        self.level = level
        self.role = role
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.debug, message, fields)
    }
    public func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.info, message, fields)
    }
    public func warn(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.warn, message, fields)
    }
    public func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.error, message, fields)
    }

    public func log(_ lineLevel: LogLevel, _ message: String, _ fields: KeyValuePairs<String, LogValue>) {
        guard lineLevel >= level else { return }
        var line = "{\"time\":\"\(Self.timestamp())\",\"level\":\"\(lineLevel.name)\",\"pid\":\(getpid())"
        line += ",\"worker\":\(JSONText.quoted(role)),\"message\":\(JSONText.quoted(message))"
        for (key, value) in fields {
            line += ",\(JSONText.quoted(key)):\(value.json)"
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// UTC time as RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = Int32(spec.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}
