import Common

#if canImport(Glibc)
import Glibc
#endif

/// An append-only file of `request_logs` rows that could not be written to the database, one
/// JSON object per line, in `GATEWAY_DATA_DIR/spool/`. Each worker appends to a file of its own;
/// any worker replays any file once the database answers: it claims the file by renaming it, so
/// no two workers replay one file. A worker that dies mid-replay leaves rows to be written again
/// (a duplicate row, never a lost one).
final class LogSpool {
    private let directory: String
    private let ownFile: String
    private var replaying: (path: String, records: [RequestLogRecord])?
    private let logger: Logger

    init(dataDirectory: String, logger: Logger) {
        directory = dataDirectory + "/spool"
        ownFile = directory + "/worker-\(getpid()).jsonl"
        self.logger = logger
        if let reason = FileSystem.makeDirectories(directory, mode: 0o700) {
            logger.error("cannot create the log spool directory", ["reason": .string(reason)])
        }
    }

    /// Appends rows durably (fsync), so they survive the worker and the machine.
    func append(_ records: [RequestLogRecord]) {
        guard !records.isEmpty else { return }
        var bytes: [UInt8] = []
        for record in records {
            Self.encode(record).write(to: &bytes)
            bytes.append(0x0A)
        }
        let fd = open(ownFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            logger.error("cannot open the log spool; request logs lost", ["path": .string(ownFile), "count": .int(records.count)])
            return
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 {
                logger.error("cannot write the log spool; request logs lost", ["count": .int(records.count)])
                return
            }
            offset += written
        }
        fsync(fd)
    }

    /// Whether any spool file (this worker's or another's) waits to be replayed.
    var hasRecords: Bool {
        if replaying != nil { return true }
        let names = FileSystem.directoryEntries(directory)
        return names.contains { $0.hasSuffix(".jsonl") }
    }

    /// Up to `limit` spooled rows, oldest first; `consume` confirms they were written.
    func readBatch(limit: Int) -> [RequestLogRecord] {
        if replaying == nil { claimNextFile() }
        guard let replaying else { return [] }
        return Array(replaying.records.prefix(limit))
    }

    func consume(_ count: Int) {
        guard var current = replaying else { return }
        current.records.removeFirst(min(count, current.records.count))
        if current.records.isEmpty {
            unlink(current.path)
            replaying = nil
        } else {
            replaying = current
        }
    }

    private func claimNextFile() {
        let names = FileSystem.directoryEntries(directory)
            .filter { $0.hasSuffix(".jsonl") }.sorted()
        for name in names {
            let source = directory + "/" + name
            let claimed = directory + "/" + name + ".replaying-\(getpid())"
            guard rename(source, claimed) == 0, let data = FileSystem.readBytes(claimed) else { continue }
            let records = data.split(separator: 0x0A).compactMap { line -> RequestLogRecord? in
                guard let value = try? JSONParser.parse(Array(line)) else { return nil }
                return Self.decode(value)
            }
            logger.info("replaying spooled request logs", ["count": .int(records.count)])
            replaying = (claimed, records)
            return
        }
    }

    // MARK: - Row encoding

    static func encode(_ record: RequestLogRecord) -> JSONValue {
        var object = JSONObject()
        object["created_at"] = .int(Int(record.createdAt.millisecondsSinceEpoch))
        object["request_id"] = .string(record.requestID)
        object["api_key_id"] = record.apiKeyID.map(JSONValue.string) ?? .null
        object["customer_id"] = record.customerID.map(JSONValue.string) ?? .null
        object["labels"] = .object(JSONObject(record.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        object["requested_model"] = record.requestedModel.map(JSONValue.string) ?? .null
        object["model"] = record.model.map(JSONValue.string) ?? .null
        object["provider"] = record.provider.map(JSONValue.string) ?? .null
        object["status_code"] = .int(record.statusCode)
        object["error_type"] = record.errorType.map(JSONValue.string) ?? .null
        object["stream"] = .bool(record.stream)
        object["cache_hit"] = .bool(record.cacheHit)
        object["attempts"] = .int(record.attempts)
        object["prompt_tokens"] = .int(record.promptTokens)
        object["completion_tokens"] = .int(record.completionTokens)
        object["cached_tokens"] = .int(record.cachedTokens)
        object["cost_usd"] = .string(record.costUSD.description)
        object["latency_ms"] = .int(record.latencyMs)
        object["ttft_ms"] = record.ttftMs.map(JSONValue.int) ?? .null
        return .object(object)
    }

    static func decode(_ value: JSONValue) -> RequestLogRecord? {
        guard let requestID = value["request_id"]?.stringValue, let status = value["status_code"]?.intValue,
            let created = value["created_at"]?.intValue
        else { return nil }
        var labels: [String: String] = [:]
        for (key, label) in value["labels"]?.objectValue ?? JSONObject() { labels[key] = label.stringValue }
        return RequestLogRecord(
            createdAt: Timestamp(millisecondsSinceEpoch: Int64(created)), requestID: requestID,
            apiKeyID: value["api_key_id"]?.stringValue, customerID: value["customer_id"]?.stringValue, labels: labels,
            requestedModel: value["requested_model"]?.stringValue, model: value["model"]?.stringValue,
            provider: value["provider"]?.stringValue, statusCode: status, errorType: value["error_type"]?.stringValue,
            stream: value["stream"]?.boolValue ?? false, cacheHit: value["cache_hit"]?.boolValue ?? false,
            attempts: value["attempts"]?.intValue ?? 0, promptTokens: value["prompt_tokens"]?.intValue ?? 0,
            completionTokens: value["completion_tokens"]?.intValue ?? 0, cachedTokens: value["cached_tokens"]?.intValue ?? 0,
            costUSD: value["cost_usd"]?.stringValue.flatMap { Decimal12($0) } ?? .zero,
            latencyMs: value["latency_ms"]?.intValue ?? 0, ttftMs: value["ttft_ms"]?.intValue)
    }
}
