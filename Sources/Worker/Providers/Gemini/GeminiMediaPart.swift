import Common

/// One part of a user message as a Gemini `Part`.
///
/// - `text` → `{text}` (empty text is dropped: Gemini refuses empty parts).
/// - `image_url` with a `data:<mime>;base64,…` URL → `inlineData`; with an http(s) URL →
///   `fileData {mimeType, fileUri}`: Gemini fetches public and signed URLs itself (the API
///   accepts external URLs since January 2026). The type is guessed from the extension,
///   `image/jpeg` when there is none. `detail` has no equivalent and is dropped.
/// - `input_audio {data, format}` → `inlineData` of type `audio/<format>`.
/// - `file {file_data}` (a data URL, or bare base64 typed by `filename`, else a PDF) →
///   `inlineData`. `file {file_id}` (OpenAI's Files API) cannot reach Gemini: refused.
enum GeminiMediaPart {
    static func convert(_ part: JSONValue, path: String) throws(GatewayError) -> JSONValue? {
        guard case .object(let object) = part else { throw ChatRequest.wrongType(path, "an object", part) }
        let type = object["type"]?.stringValue ?? ""
        switch type {
        case "text":
            guard let text = object["text"]?.stringValue else { throw ChatRequest.missing("\(path).text") }
            return text.isEmpty ? nil : ["text": .string(text)]
        case "image_url":
            let url = object["image_url"]?["url"]?.stringValue ?? object["image_url"]?.stringValue
            guard let url, !url.isEmpty else { throw ChatRequest.missing("\(path).image_url.url") }
            return try media(url: url, defaultType: "image/jpeg", path: "\(path).image_url.url")
        case "input_audio":
            guard let audio = object["input_audio"], let data = audio["data"]?.stringValue, !data.isEmpty else {
                throw ChatRequest.missing("\(path).input_audio.data")
            }
            let format = audio["format"]?.stringValue ?? "wav"
            guard !format.isEmpty, format.utf8.allSatisfy(isTokenByte) else {
                throw .invalidRequest("'\(path).input_audio.format' is not an audio format.", code: "invalid_value",
                    param: "\(path).input_audio.format")
            }
            return inline(mimeType: "audio/" + format.lowercased(), data: data)
        case "file":
            let file = object["file"]
            if let data = file?["file_data"]?.stringValue, !data.isEmpty {
                if hasDataScheme(data) { return try media(url: data, defaultType: "application/pdf", path: "\(path).file.file_data") }
                let type = file?["filename"]?.stringValue.flatMap(mimeType(forPath:)) ?? "application/pdf"
                return inline(mimeType: type, data: data)
            }
            if file?["file_id"] != nil {
                throw .invalidRequest(
                    "'\(path).file.file_id' refers to OpenAI's Files API, which Gemini cannot read; send the file as 'file_data'.",
                    code: "unsupported_value", param: "\(path).file.file_id")
            }
            throw ChatRequest.missing("\(path).file.file_data")
        default:
            throw .invalidRequest(
                "'\(path).type' is '\(type.prefix(40))'; Gemini takes text, image_url, input_audio and file parts.",
                code: "unsupported_value", param: "\(path).type")
        }
    }

    private static func inline(mimeType: String, data: String) -> JSONValue {
        ["inlineData": ["mimeType": .string(mimeType), "data": .string(data)]]
    }

    /// A data URL as `inlineData`, an http(s) URL as `fileData`; other schemes are refused.
    private static func media(url: String, defaultType: String, path: String) throws(GatewayError) -> JSONValue {
        if hasDataScheme(url) {
            let bytes = url.utf8
            guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")) else { throw badDataURL(path) }
            let header = String(Substring(bytes[bytes.index(bytes.startIndex, offsetBy: 5)..<comma])).lowercased()
            let data = String(Substring(bytes[bytes.index(after: comma)...]))
            guard header.hasSuffix(";base64"), !data.isEmpty else { throw badDataURL(path) }
            let type = header.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard type.contains("/"), type.utf8.allSatisfy(isTokenByte) else { throw badDataURL(path) }
            return inline(mimeType: type, data: data)
        }
        let lower = url.prefix(8).lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw .invalidRequest(
                "'\(path)' must be an http(s) URL or a base64 data URL.", code: "invalid_value", param: path)
        }
        return ["fileData": ["mimeType": .string(mimeType(forPath: url) ?? defaultType), "fileUri": .string(url)]]
    }

    private static func badDataURL(_ path: String) -> GatewayError {
        .invalidRequest(
            "'\(path)' is not a valid data URL; expected data:<media type>;base64,<data>.", code: "invalid_value", param: path)
    }

    private static func hasDataScheme(_ text: String) -> Bool { text.prefix(5).lowercased() == "data:" }

    /// Media-type characters (RFC 6838 names, plus `/` and `+`).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "/"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static let typesByExtension: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
        "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf", "txt": "text/plain",
        "mp3": "audio/mp3", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "aac": "audio/aac",
        "mp4": "video/mp4", "mov": "video/mov", "webm": "video/webm", "mpeg": "video/mpeg",
    ]

    /// The media type for a URL or file name's extension (query and fragment ignored).
    static func mimeType(forPath path: String) -> String? {
        var name = Substring(path)
        if let end = name.firstIndex(where: { $0 == "?" || $0 == "#" }) { name = name[..<end] }
        guard let dot = name.lastIndex(of: "."), !name[dot...].contains("/") else { return nil }
        return typesByExtension[name[name.index(after: dot)...].lowercased()]
    }
}
