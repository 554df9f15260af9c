import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A parsed HTTP response as a test sees it.
struct TestResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var trailers: [(String, String)] = []

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    var text: String { String(decoding: body, as: UTF8.self) }
}

enum TestClientError: Error, Equatable {
    case connect(Int32)
    case closedBeforeResponse
    case timeout
    case malformed(String)
}

/// A blocking HTTP/1.1 client over one TCP connection, with a receive timeout: enough HTTP to
/// drive the gateway byte by byte, including what no real client would send.
final class TestConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// Responses read on this connection so far.
    private(set) var responsesRead = 0

    init(port: Int, timeoutSeconds: Int = 10) throws {
        _ = TestConnection.descriptorLimitRaised
        // Close-on-exec: a gateway or mock started later must not inherit the test's sockets.
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw TestClientError.connect(code)
        }
    }

    deinit { close(fd) }

    /// Many gateways, mocks and connections run at once in one test process: lift the soft
    /// descriptor limit (often 1024) to the hard one, once.
    /// Also makes sure descriptors 0-2 are open (CI runs the tests with no standard input): a
    /// socket or file that landed on 0 would be clobbered when a child's stdin is set up.
    static let descriptorLimitRaised: Bool = {
        for standard: Int32 in 0...2 where fcntl(standard, F_GETFD) == -1 {
            _ = open("/dev/null", standard == 0 ? O_RDONLY : O_WRONLY)
        }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return false }
        limit.rlim_cur = limit.rlim_max
        return setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
    }()

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { throw TestClientError.closedBeforeResponse }
            offset += written
        }
    }

    /// Sends a GET and reads its response.
    func get(_ path: String, headers: [String] = []) throws -> TestResponse {
        try send("GET \(path) HTTP/1.1\r\nHost: test\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        return try readResponse()
    }

    /// Sends any request with a body (Content-Length framing) and reads its response.
    func request(
        _ method: String, _ path: String, headers: [String] = [], body: String? = nil
    ) throws -> TestResponse {
        let bytes = Array((body ?? "").utf8)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for header in headers { head += header + "\r\n" }
        if body != nil || method == "POST" || method == "PUT" { head += "Content-Length: \(bytes.count)\r\n" }
        try send(Array((head + "\r\n").utf8) + bytes)
        return try readResponse(headRequest: method == "HEAD")
    }

    /// Reads one response (Content-Length, chunked with trailers, or until close).
    func readResponse(headRequest: Bool = false) throws -> TestResponse {
        let headEnd = try readUntil([13, 10, 13, 10])
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestClientError.malformed(head) }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        if status == 100 { return try readResponse(headRequest: headRequest) }
        if headRequest || status == 204 || status == 304 {
        } else if let length = response.header("Content-Length").flatMap(Int.init) {
            try fill(length)
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            try readChunked(into: &response)
        } else {
            while (try? fill(buffer.count + 1)) != nil {}
            response.body = buffer
            buffer = []
        }
        responsesRead += 1
        return response
    }

    private func readChunked(into response: inout TestResponse) throws {
        while true {
            let lineEnd = try readUntil([13, 10])
            let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";")[0]
            buffer.removeFirst(lineEnd + 2)
            guard let size = Int(sizeText, radix: 16) else { throw TestClientError.malformed("chunk size") }
            if size == 0 { break }
            try fill(size + 2)
            response.body += buffer[0..<size]
            buffer.removeFirst(size + 2)
        }
        while true {
            let lineEnd = try readUntil([13, 10])
            let line = String(decoding: buffer[0..<lineEnd], as: UTF8.self)
            buffer.removeFirst(lineEnd + 2)
            if line.isEmpty { return }
            if let colon = line.firstIndex(of: ":") {
                response.trailers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
    }

    private func readUntil(_ marker: [UInt8]) throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= marker.count {
                for start in searchFrom...(buffer.count - marker.count) where Array(buffer[start..<start + marker.count]) == marker {
                    return start
                }
                searchFrom = buffer.count - marker.count + 1
            }
            try receiveMore()
        }
    }

    private func fill(_ count: Int) throws {
        while buffer.count < count { try receiveMore() }
    }

    private func receiveMore() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        if count > 0 {
            buffer += chunk[0..<count]
        } else if count == 0 {
            throw TestClientError.closedBeforeResponse
        } else if errno == EAGAIN || errno == EWOULDBLOCK {
            throw TestClientError.timeout
        } else {
            throw TestClientError.closedBeforeResponse
        }
    }

    /// Reads an interim (1xx) response head and returns it as text.
    func readInterim() throws -> String {
        let end = try readUntil([13, 10, 13, 10])
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        return head
    }

    /// True when the server has closed the connection (reads EOF within the timeout).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// One request with a body on a fresh connection.
func call(
    port: Int, _ method: String, _ path: String, headers: [String] = [], body: String? = nil, timeout: Int = 10
) throws -> TestResponse {
    let connection = try TestConnection(port: port, timeoutSeconds: timeout)
    return try connection.request(method, path, headers: headers + ["Connection: close"], body: body)
}

extension TestResponse {
    /// The body parsed as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
}

/// One request on a fresh connection.
func fetch(port: Int, _ path: String) throws -> TestResponse {
    let connection = try TestConnection(port: port)
    return try connection.get(path, headers: ["Connection: close"])
}
