import Common

/// Images, files and cache hints inside a user message, as Anthropic content blocks. Nothing is
/// fetched: an http(s) image URL goes to Anthropic as a `url` source and Anthropic fetches it.
enum AnthropicMediaTranslator {
    /// The image types Anthropic accepts.
    static let imageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    /// `{"type": "image_url", "image_url": {"url": …, "detail": …}}` as an image block: a
    /// `data:<mime>;base64,<data>` URL becomes a base64 source, an http(s) URL a url source.
    /// `detail` has no Anthropic equivalent and is dropped.
    static func image(_ part: JSONObject, path: String) throws(GatewayError) -> JSONValue {
        let urlPath = "\(path).image_url.url"
        // Some clients send `image_url` as the bare URL string; accept it as well.
        guard let url = part["image_url"]?.stringValue ?? part["image_url"]?["url"]?.stringValue, !url.isEmpty else {
            throw ChatRequest.missing(urlPath)
        }
        let source: JSONValue
        if let (mediaType, data) = base64DataURL(url) {
            let mime = mediaType == "image/jpg" ? "image/jpeg" : mediaType
            guard imageTypes.contains(mime) else {
                throw .invalidRequest(
                    "'\(urlPath)' has media type '\(mime.prefix(60))'; Anthropic accepts image/jpeg, image/png, image/gif and image/webp.",
                    code: "unsupported_value", param: urlPath)
            }
            source = ["type": "base64", "media_type": .string(mime), "data": .string(data)]
        } else if hasScheme(url, "https://") || hasScheme(url, "http://") {
            source = ["type": "url", "url": .string(url)]
        } else {
            throw .invalidRequest(
                "'\(urlPath)' must be an http(s) URL or a base64 data URL (data:image/png;base64,…).",
                code: "invalid_value", param: urlPath)
        }
        var block = JSONObject([("type", "image"), ("source", source)])
        if let cache = try cacheControl(part, path: path) { block["cache_control"] = cache }
        return .object(block)
    }

    /// `{"type": "file", "file": {"file_data": "data:application/pdf;base64,…", "filename": …}}`
    /// as a PDF document block titled with the file name. OpenAI `file_id`s mean nothing to
    /// Anthropic, and PDF is the only type Anthropic takes as base64, so anything else is a 400.
    static func document(_ part: JSONObject, path: String) throws(GatewayError) -> JSONValue {
        let filePath = "\(path).file"
        guard case .object(let file)? = part["file"] else { throw ChatRequest.missing(filePath) }
        let filename = file["filename"]?.stringValue
        guard let fileData = file["file_data"]?.stringValue, !fileData.isEmpty else {
            if file["file_id"] != nil {
                throw .invalidRequest(
                    "'\(filePath).file_id' cannot be used with Anthropic models; send the file inline as 'file_data'.",
                    code: "unsupported_parameter", param: "\(filePath).file_id")
            }
            throw ChatRequest.missing("\(filePath).file_data")
        }
        let data: String
        if let (mediaType, payload) = base64DataURL(fileData) {
            guard mediaType == "application/pdf" else {
                throw .invalidRequest(
                    "'\(filePath).file_data' has media type '\(mediaType.prefix(60))'; Anthropic accepts PDF files (application/pdf).",
                    code: "unsupported_value", param: "\(filePath).file_data")
            }
            data = payload
        } else if let filename, filename.lowercased().hasSuffix(".pdf"), !hasScheme(fileData, "data:") {
            data = fileData  // bare base64, as some clients send it, named as a PDF
        } else {
            throw .invalidRequest(
                "'\(filePath).file_data' must be a base64 data URL of a PDF (data:application/pdf;base64,…).",
                code: "invalid_value", param: "\(filePath).file_data")
        }
        var block = JSONObject([
            ("type", "document"),
            ("source", ["type": "base64", "media_type": "application/pdf", "data": .string(data)]),
        ])
        if let filename, !filename.isEmpty { block["title"] = .string(filename) }
        if let cache = try cacheControl(part, path: path) { block["cache_control"] = cache }
        return .object(block)
    }

    /// Anthropic's prompt-cache breakpoint, which some OpenAI clients already put on content
    /// parts (`{"type": "ephemeral", "ttl": "5m" | "1h"}`). Copied field by field, never blindly.
    static func cacheControl(_ part: JSONObject, path: String) throws(GatewayError) -> JSONValue? {
        guard let value = part["cache_control"], !value.isNull else { return nil }
        let field = "\(path).cache_control"
        guard value["type"]?.stringValue == "ephemeral" else {
            throw .invalidRequest("'\(field)' must be {\"type\": \"ephemeral\"}.", code: "invalid_value", param: field)
        }
        guard let ttl = value["ttl"], !ttl.isNull else { return ["type": "ephemeral"] }
        guard ttl == "5m" || ttl == "1h" else {
            throw .invalidRequest("'\(field).ttl' must be \"5m\" or \"1h\".", code: "invalid_value", param: "\(field).ttl")
        }
        return ["type": "ephemeral", "ttl": ttl]
    }

    /// The media type (lowercased, parameters dropped) and payload of `data:<type>[;…];base64,<payload>`.
    static func base64DataURL(_ url: String) -> (mediaType: String, data: String)? {
        guard hasScheme(url, "data:"), let comma = url.utf8.firstIndex(of: UInt8(ascii: ",")) else { return nil }
        let header = url.utf8[url.utf8.index(url.startIndex, offsetBy: 5)..<comma]
        guard let headerText = String(header), headerText.lowercased().hasSuffix(";base64") else { return nil }
        let mediaType = headerText.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let data = String(url[url.utf8.index(after: comma)...])
        guard !mediaType.isEmpty, !data.isEmpty else { return nil }
        return (mediaType.lowercased(), data)
    }

    private static func hasScheme(_ url: String, _ scheme: StaticString) -> Bool {
        let count = scheme.utf8CodeUnitCount
        var index = 0
        for byte in url.utf8.prefix(count) {
            var lower = byte
            if lower >= UInt8(ascii: "A") && lower <= UInt8(ascii: "Z") { lower += 32 }
            guard lower == scheme.utf8Start[index] else { return false }
            index += 1
        }
        return index == count
    }
}
