/// An exact decimal amount with 12 fractional digits, such as a cost in USD or a price per
/// million tokens. Stored as a whole number of 10⁻¹² units in an `Int128`, so sums and products
/// by token counts are exact (no binary floating point anywhere money is kept or added up) and
/// the range (±1.7 × 10²⁶) is far beyond any bill.
///
/// Its text form is a plain decimal: no exponent, trailing zeros trimmed, `0` for zero
/// (`0.0000135`, `2.5`, `-0.75`). That is the form of `X-Cost-USD`, the admin API and the
/// embedded store.
public struct Decimal12: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The amount in units of 10⁻¹².
    public var units: Int128

    /// Units per whole number: 10¹².
    public static let unitsPerWhole: Int128 = 1_000_000_000_000
    /// Number of fractional digits kept.
    public static let fractionDigits = 12

    public static let zero = Decimal12(units: 0)

    public init(units: Int128) {
        self.units = units
    }

    /// A whole number, e.g. `Decimal12(15)` is 15.
    public init(_ whole: Int) {
        self.units = Int128(whole) * Self.unitsPerWhole
    }

    /// Parses a plain decimal: an optional sign, digits, optionally a point and more digits
    /// (`"12"`, `"0.075"`, `"-3.5"`, `".5"`, `"1."`). Digits beyond the 12th fractional place must
    /// be zeros (`"0.150000000000000"` is fine; `"0.0000000000001"` is not exact and is rejected).
    /// No exponent, no spaces, no thousands separators. Nil when the text is not such a number
    /// or is out of range.
    public init?(_ text: some StringProtocol) {
        var negative = false
        var whole: Int128 = 0
        var fraction: Int128 = 0
        var fractionCount = 0
        var digitCount = 0
        var seenPoint = false
        var index = text.utf8.startIndex
        let end = text.utf8.endIndex
        if index < end, text.utf8[index] == UInt8(ascii: "-") || text.utf8[index] == UInt8(ascii: "+") {
            negative = text.utf8[index] == UInt8(ascii: "-")
            index = text.utf8.index(after: index)
        }
        while index < end {
            let byte = text.utf8[index]
            index = text.utf8.index(after: index)
            if byte == UInt8(ascii: ".") {
                if seenPoint { return nil }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int128(byte - UInt8(ascii: "0"))
            digitCount += 1
            if seenPoint {
                if fractionCount < Self.fractionDigits {
                    fraction = fraction * 10 + digit
                    fractionCount += 1
                } else if digit != 0 {
                    return nil  // would need rounding: not exact
                }
            } else {
                // 10^26 whole units keeps whole × 10^12 well inside Int128.
                whole = whole * 10 + digit
                if whole > 100_000_000_000_000_000_000_000_000 { return nil }
            }
        }
        guard digitCount > 0 else { return nil }
        for _ in fractionCount..<Self.fractionDigits { fraction *= 10 }
        let magnitude = whole * Self.unitsPerWhole + fraction
        self.units = negative ? -magnitude : magnitude
    }

    /// Plain decimal text, trailing zeros trimmed: `"0"`, `"0.0000135"`, `"15"`, `"-2.5"`.
    public var description: String {
        if units == 0 { return "0" }
        let magnitude = units.magnitude
        let whole = magnitude / UInt128(Self.unitsPerWhole)
        var fraction = magnitude % UInt128(Self.unitsPerWhole)
        var text = units < 0 ? "-" : ""
        text += String(whole)
        if fraction != 0 {
            var digits = Self.fractionDigits
            while fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            let fractionText = String(fraction)
            text += "."
            text += String(repeating: "0", count: digits - fractionText.count)
            text += fractionText
        }
        return text
    }

    /// Text with exactly 12 fractional digits (`"0.000013500000"`): the fixed-width form the
    /// embedded store keeps, so sums can be taken digit-group by digit-group in SQL.
    public var fixedText: String {
        String(unsafeUninitializedCapacity: Self.maxFixedTextCount) { buffer in
            writeFixedText(to: buffer.baseAddress!)
        }
    }

    /// The longest `fixedText`: a sign, 27 whole digits (Int128's range over 10¹²), the point and
    /// 12 decimals.
    public static let maxFixedTextCount = 41

    /// Writes `fixedText`'s UTF-8 bytes at `start`, which has room for `maxFixedTextCount`, and
    /// returns how many. The embedded store writes each log row's cost this way, straight into
    /// its bind buffer, without a String per row.
    public func writeFixedText(to start: UnsafeMutablePointer<UInt8>) -> Int {
        var position = 0
        if units < 0 {
            start[0] = UInt8(ascii: "-")
            position = 1
        }
        let magnitude = units.magnitude
        // Any cost below 18 million dollars fits 64 bits, where dividing is cheap; Int128
        // division is a library call.
        let whole: UInt128
        let fraction: UInt64
        if let small = UInt64(exactly: magnitude) {
            whole = UInt128(small / UInt64(Self.unitsPerWhole))
            fraction = small % UInt64(Self.unitsPerWhole)
        } else {
            whole = magnitude / UInt128(Self.unitsPerWhole)
            fraction = UInt64(magnitude % UInt128(Self.unitsPerWhole))
        }
        if let whole = UInt64(exactly: whole) {
            let count = ASCIIDigits.count(whole)
            ASCIIDigits.write(whole, width: count, to: start + position)
            position += count
        } else {
            for byte in String(whole).utf8 {
                start[position] = byte
                position += 1
            }
        }
        start[position] = UInt8(ascii: ".")
        ASCIIDigits.write(fraction, width: Self.fractionDigits, to: start + position + 1)
        return position + 1 + Self.fractionDigits
    }

    /// Number of significant fractional digits (0 for whole numbers): lets a caller check that a
    /// value fits a column with fewer decimal places without rounding.
    public var significantFractionDigits: Int {
        var fraction = units.magnitude % UInt128(Self.unitsPerWhole)
        if fraction == 0 { return 0 }
        var digits = Self.fractionDigits
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        return digits
    }

    public static func < (lhs: Decimal12, rhs: Decimal12) -> Bool { lhs.units < rhs.units }

    public static func + (lhs: Decimal12, rhs: Decimal12) -> Decimal12 { Decimal12(units: lhs.units + rhs.units) }
    public static func - (lhs: Decimal12, rhs: Decimal12) -> Decimal12 { Decimal12(units: lhs.units - rhs.units) }
    public static func += (lhs: inout Decimal12, rhs: Decimal12) { lhs.units += rhs.units }
    public static func -= (lhs: inout Decimal12, rhs: Decimal12) { lhs.units -= rhs.units }

    /// The amount times a whole number, exactly (e.g. a per-token price times tokens).
    public func multiplied(by factor: Int) -> Decimal12 { Decimal12(units: units * Int128(factor)) }
    public static func * (lhs: Decimal12, rhs: Int) -> Decimal12 { lhs.multiplied(by: rhs) }
    public static func * (lhs: Int, rhs: Decimal12) -> Decimal12 { rhs.multiplied(by: lhs) }

    /// The cost of `tokens` tokens at this price per million tokens, rounded half away from zero
    /// to 12 decimal places (the only rounding, and only when the exact cost has more than 12).
    /// E.g. `Decimal12("0.15")!.costPerMillion(tokens: 90)` is `0.0000135`.
    public func costPerMillion(tokens: Int) -> Decimal12 {
        let product = units * Int128(tokens)
        let (quotient, remainder) = product.quotientAndRemainder(dividingBy: 1_000_000)
        if remainder.magnitude * 2 >= 1_000_000 {
            return Decimal12(units: quotient + (product < 0 ? -1 : 1))
        }
        return Decimal12(units: quotient)
    }
}
