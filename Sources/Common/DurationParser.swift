/// Parses the durations the configuration accepts: `500ms`, `30s`, `2m`, `1h` or bare seconds.
public enum DurationParser {
    /// The duration in nanoseconds, or nil when `text` is not one of the accepted forms.
    public static func nanoseconds(_ text: String) -> UInt64? {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { return nil }
        let units: [(suffix: String, scale: Double)] = [
            ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = String(trimmed.dropLast(unit.suffix.count))
            return scaled(number, by: unit.scale)
        }
        return scaled(trimmed, by: 1e9)
    }

    private static func scaled(_ number: String, by scale: Double) -> UInt64? {
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite, value >= 0, value * scale < 1e18
        else { return nil }
        return UInt64((value * scale).rounded())
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    public func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = firstIndex(where: { !isSpace($0) }),
            let end = lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[start...end])
    }
}
