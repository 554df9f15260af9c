import CGatewayLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid. Foundation's `Process`
/// is not used: its `waitUntilExit` can hang when tests run in parallel on Swift concurrency
/// threads, and a hung test is worse than a failed one.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `status` is only touched by the test that owns the process.
    let pid: pid_t
    private var status: Int32?

    /// Starts `arguments[0]` (a path) in `directory`, with `environment`, output to `outputPath`
    /// (both stdout and stderr; /dev/null when nil).
    init(_ arguments: [String], environment: [String: String], directory: String? = nil, outputPath: String? = nil) throws {
        _ = TestConnection.descriptorLimitRaised
        var argv = arguments
        if let directory { argv = ["/usr/bin/env", "--chdir=\(directory)"] + argv }
        // With stdin closed (CI runs without one) a new descriptor can be 0, 1 or 2, which the
        // mapping below would overwrite: such a descriptor is moved above 2 first.
        let output = Self.aboveStandardStreams(open(outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644))
        let input = Self.aboveStandardStreams(open("/dev/null", O_RDONLY | O_CLOEXEC))
        guard output > 2, input > 2 else {
            if output >= 0 { close(output) }
            if input >= 0 { close(input) }
            throw TestClientError.connect(EBADF)
        }
        defer {
            close(output)
            close(input)
        }
        let map: [Int32] = [input, 0, output, 1, output, 2]
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var child: pid_t = 0
        let result = Self.withCStrings(argv) { argvPointer in
            Self.withCStrings(envp) { envPointer in
                cgl_spawn(&child, argv[0], argvPointer, envPointer, map, 3)
            }
        }
        guard result == 0 else { throw TestClientError.connect(result) }
        pid = child
    }

    private static func aboveStandardStreams(_ fd: Int32) -> Int32 {
        guard fd >= 0, fd <= 2 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        close(fd)
        return moved
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait(timeout: 10)
        }
    }

    var isRunning: Bool {
        if status != nil { return false }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped == pid {
            status = cgl_wifexited(raw) != 0 ? cgl_wexitstatus(raw) : 128 + cgl_wtermsig(raw)
            return false
        }
        return reaped == 0
    }

    /// Waits (bounded) for the exit; returns the exit status (128 + signal when killed).
    @discardableResult
    func wait(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(10_000) }
        return status
    }

    var terminationStatus: Int32? { isRunning ? nil : status }

    /// Runs to completion (bounded) and returns the exit status and the output.
    static func run(
        _ arguments: [String], environment: [String: String], directory: String? = nil, timeout: Double = 120
    ) throws -> (status: Int32, output: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).out").path
        defer { unlink(path) }
        let child = try ChildProcess(arguments, environment: environment, directory: directory, outputPath: path)
        let status = child.wait(timeout: timeout)
        if status == nil { kill(child.pid, SIGKILL) }
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (status ?? -1, output)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
