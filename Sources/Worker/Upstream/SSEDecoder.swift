/// One Server-Sent Event.
struct SSEEvent: Equatable, Sendable {
    /// The `event:` field, nil when absent (the default "message" type).
    var event: String?
    /// The `data:` lines joined with "\n", as bytes (translators that pass data on need no text).
    var bytes: [UInt8]

    /// The data as text.
    var data: String { String(decoding: bytes, as: UTF8.self) }

    init(event: String?, bytes: [UInt8]) {
        self.event = event
        self.bytes = bytes
    }

    init(event: String?, data: String) {
        self.init(event: event, bytes: Array(data.utf8))
    }
}

/// An incremental Server-Sent Events decoder (the WHATWG event-stream grammar): feed it bytes as
/// they arrive, split anywhere, and it returns each event once its blank line has arrived. Lines
/// may end in CRLF, LF or CR; comment lines (":") and unknown fields are ignored.
struct SSEDecoder: Sendable {
    /// An event larger than this is refused: a broken or hostile upstream cannot grow memory.
    static let maxEventBytes = 16 * 1024 * 1024

    private var line: [UInt8] = []
    private var lastWasCR = false
    private var event: String?
    private var data: [UInt8] = []
    private var hasData = false
    private(set) var isOverflowed = false

    init() {}

    /// Decodes `bytes`; returns the events completed by them, in order.
    mutating func consume<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [SSEEvent] {
        if let events = bytes.withContiguousStorageIfAvailable({ consume(buffer: $0) }) { return events }
        return Array(bytes).withUnsafeBufferPointer { consume(buffer: $0) }
    }

    /// Takes each line in one piece up to its terminator (this runs for every chunk of every
    /// stream, so not byte by byte).
    private mutating func consume(buffer: UnsafeBufferPointer<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var index = 0
        while index < buffer.count {
            if lastWasCR {
                lastWasCR = false
                if buffer[index] == 0x0A {  // the LF of a CRLF
                    index += 1
                    continue
                }
            }
            var end = index
            while end < buffer.count && buffer[end] != 0x0A && buffer[end] != 0x0D { end += 1 }
            if end > index {
                line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<end]))
                if line.count + data.count > Self.maxEventBytes {
                    isOverflowed = true
                    line.removeAll()
                    data.removeAll()
                }
            }
            guard end < buffer.count else { break }
            lastWasCR = buffer[end] == 0x0D
            if let completed = endLine() { events.append(completed) }
            index = end + 1
        }
        return events
    }

    /// Dispatches a last event that was not followed by a blank line (a stream cut short).
    mutating func finish() -> SSEEvent? {
        if !line.isEmpty { _ = endLine() }
        return endLine()
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData || event != nil else { return nil }
            let completed = SSEEvent(event: event, bytes: data)
            event = nil
            data = []
            hasData = false
            return !completed.bytes.isEmpty || completed.event != nil ? completed : nil
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
        let name = line[0..<colon]
        var valueStart = colon < line.count ? colon + 1 : colon
        if valueStart < line.count && line[valueStart] == 0x20 { valueStart += 1 }
        let value = line[valueStart...]
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            event = String(decoding: value, as: UTF8.self)
        }
        return nil
    }
}
