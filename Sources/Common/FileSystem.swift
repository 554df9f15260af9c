#if canImport(Glibc)
import Glibc
#endif

/// The few file operations the gateway needs, on plain system calls: the worker does not load
/// Foundation (its libraries alone would cost a worker ~8 MB of resident memory).
public enum FileSystem {
    /// A whole file's bytes, or nil when it cannot be read or is larger than `limit` bytes.
    public static func readBytes(_ path: String, limit: Int = 1 << 30) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return nil }
        }
    }

    /// The names in a directory (without "." and ".."); empty when it cannot be read.
    public static func directoryEntries(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `mkdir -p`; returns the reason when a component cannot be created.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) -> String? {
        if path.isEmpty { return nil }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                return "cannot create the directory \(prefix): \(String(cString: strerror(errno)))"
            }
            prefix += "/"
        }
        return nil
    }
}
