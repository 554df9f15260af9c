/// Whole numbers as ASCII decimal digits, written straight into a byte buffer.
///
/// The text forms the embedded store writes for every log row (timestamps, money) are built with
/// these instead of `String(value)` and concatenation: a String per field per row showed in the
/// store thread's profile as allocation, copying and small-string appends.
public enum ASCIIDigits {
    /// The number of decimal digits of `value`: 1 for 0, at most 20.
    @inlinable
    public static func count(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    /// Writes the low `width` decimal digits of `value` at `start`, zero-padded on the left
    /// (`write(7, width: 3, ...)` writes `007`). The caller passes a `width` of at least
    /// `count(value)` when every digit must appear.
    @inlinable
    public static func write(_ value: UInt64, width: Int, to start: UnsafeMutablePointer<UInt8>) {
        var rest = value
        var position = width
        while position > 0 {
            position -= 1
            start[position] = UInt8(truncatingIfNeeded: rest % 10) &+ UInt8(ascii: "0")
            rest /= 10
        }
    }
}
