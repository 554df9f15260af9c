import COpenSSL

/// OpenSSL's settings for every TLS connection to a provider, made once per worker: TLS 1.2 or
/// newer, the peer's certificate checked against the system's trusted authorities (or those in
/// SSL_CERT_FILE / SSL_CERT_DIR) and against the host name, HTTP/1.1 offered through ALPN.
final class TLSClientContext {
    private let context: OpaquePointer

    init() throws(UpstreamFailure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .connection("TLS could not be set up") }
        self.context = context
        _ = copenssl_ctx_set_min_tls12(context)
        _ = copenssl_ctx_set_partial_writes(context)
        copenssl_ctx_ignore_unexpected_eof(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_set_default_verify_paths(context) == 1 else {
            throw .connection("the trusted certificate authorities could not be loaded")
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count))
    }

    deinit { SSL_CTX_free(context) }

    /// A TLS session on `fd` for `host`: its name is sent (SNI) and must be on the certificate;
    /// an address must be one of the certificate's IP addresses.
    func session(fd: Int32, host: String) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        var ok = SSL_set_fd(ssl, fd) == 1
        if HostResolver.literal(host, port: 443) != nil {
            ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
        } else {
            ok = ok && copenssl_set_server_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1
        }
        guard ok else {
            SSL_free(ssl)
            return nil
        }
        return ssl
    }

    /// The reason OpenSSL gave for the last failure on this thread, emptying its queue.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "TLS handshake failed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
