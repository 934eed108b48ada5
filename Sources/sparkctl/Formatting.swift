// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Human renderings of report values.
enum Formatting {
    /// `2d 3h 4m`, `3h 4m 5s`, `4m 5s`, `5s`.
    static func duration(seconds: Double) -> String {
        let total = Int(max(0, seconds))
        let (days, hours, minutes, secs) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60)
        if days > 0 { return "\(days)d \(hours)h \(minutes)m" }
        if hours > 0 { return "\(hours)h \(minutes)m \(secs)s" }
        if minutes > 0 { return "\(minutes)m \(secs)s" }
        return "\(secs)s"
    }

    /// `12 ms`, `1.5 s` (from 10 s: `12 s`), or `-` when unknown.
    static func milliseconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value < 1000 { return "\(Int(value.rounded())) ms" }
        let seconds = value / 1000
        return seconds < 10 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
    }

    /// Local time, `2025-11-25 14:03:07`, or `-` when unknown.
    static func timestamp(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// A comma-separated list, or `-` when empty.
    static func list(_ items: [String]) -> String {
        items.isEmpty ? "-" : items.joined(separator: ", ")
    }

    /// `1 alias`, `2 aliases`.
    static func count(_ number: Int, _ singular: String, _ plural: String) -> String {
        "\(number) \(number == 1 ? singular : plural)"
    }
}
