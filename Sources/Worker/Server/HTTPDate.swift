#if canImport(Glibc)
import Glibc
#endif

/// The IMF-fixdate for the `Date` header, formatted at most once a second.
struct HTTPDate {
    private var second: Int = -1
    private var cached = ""

    mutating func current() -> String {
        var seconds = time(nil)
        if seconds == second { return cached }
        second = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        cached = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        return cached
    }
}
