#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with errno captured right after the call.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno code: Int32 = Glibc.errno) {
        self.call = call
        self.errno = code
    }

    public var description: String {
        errno == 0 ? call : "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
