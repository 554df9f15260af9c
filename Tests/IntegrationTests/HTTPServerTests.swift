import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The worker's HTTP/1.1 server over real sockets: framing, keep-alive, limits and bad input.
@Suite(.serialized)
struct HTTPServerTests {
    /// A gateway per test (Swift Testing makes an instance per test), with small limits.
    let gateway: GatewayProcess
    var port: Int { gateway.port }

    init() throws {
        gateway = try GatewayProcess(environment: [
            "WORKERS": "2", "HEADER_TIMEOUT": "1s", "MAX_REQUEST_BYTES": "1000", "MAX_HEADER_BYTES": "2048",
            "KEEPALIVE_TIMEOUT": "2s",
        ])
    }

    @Test func twoHundredRequestsOnOneKeepAliveConnection() throws {
        let connection = try TestConnection(port: port)
        for _ in 0..<200 {
            let response = try connection.get("/healthz")
            #expect(response.status == 200)
            #expect(response.text == "{\"status\":\"ok\"}")
        }
        #expect(connection.responsesRead == 200)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let connection = try TestConnection(port: port)
        try connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
        #expect(try connection.readResponse().status == 404)
        let third = try connection.readResponse()
        #expect(third.status == 200)
        #expect(third.text.contains("ready"))
    }

    @Test func http10ClientsGetCloseUnlessTheyAskForKeepAlive() throws {
        let plain = try TestConnection(port: port)
        try plain.send("GET /healthz HTTP/1.0\r\n\r\n")
        let response = try plain.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(plain.isClosedByPeer())

        let keepAlive = try TestConnection(port: port)
        try keepAlive.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try keepAlive.readResponse().header("Connection") == "keep-alive")
        try keepAlive.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try keepAlive.readResponse().status == 200)
    }

    @Test func connectionCloseIsHonoured() throws {
        let connection = try TestConnection(port: port)
        let response = try connection.get("/healthz", headers: ["Connection: close"])
        #expect(response.header("Connection") == "close")
        #expect(connection.isClosedByPeer())
    }

    @Test func chunkedAndContentLengthBodiesAreRead() throws {
        let connection = try TestConnection(port: port)
        try connection.send("POST /nope HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
        #expect(try connection.readResponse().status == 404)
        try connection.send("POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try connection.readResponse().status == 404)
        #expect(try connection.get("/healthz").status == 200)
    }

    @Test func expectContinueGetsAnInterimResponse() throws {
        let connection = try TestConnection(port: port)
        try connection.send("POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = try connection.readInterim()
        #expect(interim.hasPrefix("HTTP/1.1 100 Continue"))
        try connection.send("hello")
        #expect(try connection.readResponse().status == 404)
    }

    @Test func unknownRoutesAndMethodsGetOpenAIShapedErrors() throws {
        let missing = try fetch(port: port, "/v2/whatever")
        #expect(missing.status == 404)
        let object = try JSONSerialization.jsonObject(with: Data(missing.body)) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        #expect(error?["type"] as? String == "invalid_request_error")
        #expect(error?["code"] as? String == "not_found")
        #expect((error?["message"] as? String)?.isEmpty == false)
        #expect(error?.keys.contains("param") == true)

        let connection = try TestConnection(port: port)
        try connection.send("DELETE /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        let wrongMethod = try connection.readResponse()
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET, HEAD")
    }

    /// Each malformed request gets its status (or a closed connection), and the worker lives on.
    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\n\r\n", 400),  // HTTP/1.1 without Host
        ("GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\u{01}b\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX", 400),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413),
        ("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7D0\r\n", 413),
    ])
    func malformedRequestsAreRefused(request: String, status: Int) throws {
        let connection = try TestConnection(port: port)
        try connection.send(request)
        let response = try connection.readResponse()
        #expect(response.status == status)
        #expect(response.header("Connection") == "close")
        #expect(response.text.contains("\"error\""))
        #expect(connection.isClosedByPeer())
        #expect(try fetch(port: port, "/healthz").status == 200)
    }

    @Test func oversizedHeadersGet431() throws {
        let connection = try TestConnection(port: port)
        try connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "a", count: 4000))\r\n\r\n")
        #expect(try connection.readResponse().status == 431)
        #expect(try fetch(port: port, "/healthz").status == 200)
    }

    @Test func aTricklingClientIsCutOffWhileOthersAreServed() throws {
        let slow = try TestConnection(port: port)
        try slow.send("GET /healthz HTTP/1.1\r\n")
        let started = Date()
        var servedMeanwhile = 0
        var cutOff = false
        // One header byte every 200 ms never completes the head within HEADER_TIMEOUT (1s).
        for byte in "Host: trickle\r\nX-Slow: 1234567890\r\n".utf8 {
            if (try? slow.send([byte])) == nil { cutOff = true; break }
            if try fetch(port: port, "/healthz").status == 200 { servedMeanwhile += 1 }
            usleep(200_000)
            if Date().timeIntervalSince(started) > 5 { break }
        }
        let response = try? slow.readResponse()
        #expect(cutOff || response?.status == 408, "the trickling client was not cut off")
        #expect(servedMeanwhile >= 3)
    }

    @Test func idleKeepAliveConnectionsAreClosedAfterTheTimeout() throws {
        let connection = try TestConnection(port: port)
        #expect(try connection.get("/healthz").status == 200)
        usleep(3_000_000)
        #expect(connection.isClosedByPeer())
    }

    @Test func headRequestsGetNoBody() throws {
        let connection = try TestConnection(port: port)
        try connection.send("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try connection.readResponse(headRequest: true)
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "15")
        #expect(try connection.get("/healthz").text == "{\"status\":\"ok\"}")
    }
}
