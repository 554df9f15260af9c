import Common

#if canImport(Glibc)
import Glibc
#endif

/// A point in time as milliseconds since the Unix epoch, UTC: the resolution every store keeps.
/// Its text form is ISO-8601 with milliseconds and `Z`, e.g. `2025-01-31T12:00:00.000Z`, which
/// the embedded store keeps as is (it sorts correctly as text) and PostgreSQL parses.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The wall clock now.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { iso8601 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC, always milliseconds.
    public var iso8601: String {
        String(unsafeUninitializedCapacity: Self.maxISO8601Count) { buffer in
            writeISO8601(to: buffer.baseAddress!)
        }
    }

    /// The longest `iso8601`: a sign, 9 year digits (Int64 milliseconds reach the year 292 million)
    /// and the 20 bytes from `-MM` to `Z`.
    static let maxISO8601Count = 30

    /// Writes `iso8601`'s UTF-8 bytes at `start`, which has room for `maxISO8601Count`, and returns
    /// how many. The embedded store writes each log row's timestamp this way, straight into its
    /// bind buffer: building the String from padded pieces cost more than the rest of the row's
    /// Swift work.
    func writeISO8601(to start: UnsafeMutablePointer<UInt8>) -> Int {
        let (days, msOfDay) = millisecondsSinceEpoch.floorDividedWithModulo(86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        var position = 0
        if year < 0 {
            start[0] = UInt8(ascii: "-")
            position = 1
        }
        let yearDigits = max(4, ASCIIDigits.count(UInt64(year.magnitude)))
        ASCIIDigits.write(UInt64(year.magnitude), width: yearDigits, to: start + position)
        position += yearDigits
        // The fixed-width rest, `-MM-DDTHH:MM:SS.mmmZ`; each field is below its width's limit.
        let rest = start + position
        let milliseconds = UInt64(msOfDay)
        rest[0] = UInt8(ascii: "-")
        ASCIIDigits.write(UInt64(month), width: 2, to: rest + 1)
        rest[3] = UInt8(ascii: "-")
        ASCIIDigits.write(UInt64(day), width: 2, to: rest + 4)
        rest[6] = UInt8(ascii: "T")
        ASCIIDigits.write(milliseconds / 3_600_000, width: 2, to: rest + 7)
        rest[9] = UInt8(ascii: ":")
        ASCIIDigits.write(milliseconds / 60_000 % 60, width: 2, to: rest + 10)
        rest[12] = UInt8(ascii: ":")
        ASCIIDigits.write(milliseconds / 1000 % 60, width: 2, to: rest + 13)
        rest[15] = UInt8(ascii: ".")
        ASCIIDigits.write(milliseconds % 1000, width: 3, to: rest + 16)
        rest[19] = UInt8(ascii: "Z")
        return position + 20
    }

    /// The calendar day in UTC, `YYYY-MM-DD`.
    public var utcDay: String { String(iso8601.prefix(10)) }

    /// Parses ISO-8601 / RFC 3339 text: `2025-01-31T12:00:00Z`, `2025-01-31T12:00:00.123Z`,
    /// `2025-01-31 12:00:00.123456+02:00`, `...+00`, or a bare date `2025-01-31` (midnight UTC).
    /// Fractions beyond milliseconds are truncated. Nil for anything else.
    public init?(iso8601 text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ count: Int) -> Int? {
            guard position + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<position + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            position += count
            return value
        }
        func expect(_ character: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == character else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), (1...12).contains(month),
            expect(UInt8(ascii: "-")), let day = number(2), (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var milliseconds = Int64(Self.days(fromCivil: year, month, day)) * 86_400_000
        if position == bytes.count {
            self.millisecondsSinceEpoch = milliseconds
            return
        }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: "t")) || expect(UInt8(ascii: " ")),
            let hour = number(2), hour < 24, expect(UInt8(ascii: ":")), let minute = number(2), minute < 60,
            expect(UInt8(ascii: ":")), let second = number(2), second < 61
        else { return nil }
        milliseconds += Int64(hour * 3_600_000 + minute * 60_000 + min(second, 59) * 1000)
        if expect(UInt8(ascii: ".")) {
            var digits = 0
            var fraction = 0
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                if digits < 3 { fraction = fraction * 10 + Int(bytes[position] - 48) }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 3)..<3 { fraction *= 10 }
            milliseconds += Int64(fraction)
        }
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) {
            // UTC
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let offsetHours = number(2), offsetHours < 24 else { return nil }
            var offsetMinutes = 0
            if position < bytes.count {
                _ = expect(UInt8(ascii: ":"))
                guard let minutes = number(2), minutes < 60 else { return nil }
                offsetMinutes = minutes
            }
            milliseconds -= sign * Int64(offsetHours * 3_600_000 + offsetMinutes * 60_000)
        } else {
            return nil  // no zone: ambiguous, refuse rather than guess
        }
        guard position == bytes.count else { return nil }
        self.millisecondsSinceEpoch = milliseconds
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms)

    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension Int64 {
    /// Floor division with a non-negative remainder, so times before 1970 format correctly.
    fileprivate func floorDividedWithModulo(_ divisor: Int64) -> (Int64, Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
