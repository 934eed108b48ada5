// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation

/// One frame of `sparkctl top`: a heading line, the alias table and the backend table. Pure: the
/// same report, time and width give the same lines.
enum TopScreen {
    /// Sparkline levels, lowest first; a point without data is a space.
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The frame's lines. `width` cuts lines to the terminal (nil: no cut); `hint` ends the heading.
    static func render(_ report: ActivityReport, time: Date, style: Style, width: Int? = nil, hint: String? = nil) -> [String] {
        var heading = "spark-bridge  \(clock(time))  \(report.requestsInFlight) in flight (\(report.streamsInFlight) streaming)"
        if report.draining { heading += "  " + style.yellow("DRAINING") }
        if let hint { heading += "  " + style.dim(hint) }
        var lines = [heading, ""]
        // One table for both sections, so that their columns line up.
        var table = TextTable(rightAligned: [2, 3, 4, 5, 6, 7, 8, 10, 11, 12])
        append("ALIAS", report.aliases, to: &table, report: report, style: style)
        table.append([])
        append("BACKEND", report.backends, to: &table, report: report, style: style)
        lines += table.render(style: style).components(separatedBy: "\n")
        guard let width else { return lines }
        return lines.map { cut($0, to: width) }
    }

    /// A frame saying why there is no report (the daemon stopped, say); `top` keeps trying.
    static func unavailable(_ message: String, time: Date, style: Style, hint: String?) -> [String] {
        var heading = "spark-bridge  \(clock(time))"
        if let hint { heading += "  " + style.dim(hint) }
        return [heading, "", style.red(message)]
    }

    /// A heading row for `kind` and a row per entry.
    static func append(_ kind: String, _ rows: [ActivityRow], to table: inout TextTable, report: ActivityReport, style: Style) {
        table.append([
            kind, "STATE", "REQS", "STREAMS", "WAITING", "RUNNING", "TOK/S", "TTFT P50", "TTFT P99",
            "TTFT LAST \(report.windowSeconds)S", "ERR/MIN", "REQ/MIN", "WINDOW",
        ].map(style.bold))
        for row in rows {
            table.append([
                row.name, state(row.state, style: style), "\(row.requestsInFlight)", "\(row.streamsInFlight)",
                row.vllmWaiting.map(String.init) ?? "-", row.vllmRunning.map(String.init) ?? "-",
                String(format: "%.1f", row.outputTokensPerSecond),
                Formatting.milliseconds(row.ttftP50Ms), Formatting.milliseconds(row.ttftP99Ms),
                sparkline(row.ttftSparklineMs),
                row.errorsPerMinute > 0 ? style.red("\(row.errorsPerMinute)") : "0", "\(row.requestsPerMinute)",
                row.maxModelLen.map(String.init) ?? "-",
            ])
        }
        if rows.isEmpty { table.append(["(none)"]) }
    }

    /// `values` as a sparkline scaled from 0 to their largest: one character a point, a space where
    /// there is no value; `-` when there is none at all.
    static func sparkline(_ values: [Double?]) -> String {
        let largest = values.compactMap { $0 }.max() ?? 0
        guard largest > 0 else { return values.contains { $0 != nil } ? String(repeating: levels[0], count: values.count) : "-" }
        return String(values.map { value -> Character in
            guard let value else { return " " }
            let level = Int((value / largest * Double(levels.count - 1)).rounded())
            return levels[min(max(level, 0), levels.count - 1)]
        })
    }

    static func state(_ state: String, style: Style) -> String {
        switch state {
        case "up": style.green(state)
        case "down": style.red(state)
        case "drained", "unknown": style.yellow(state)
        default: state
        }
    }

    /// `HH:mm:ss`, local time.
    static func clock(_ time: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: time)
    }

    /// `line` cut to `width` visible characters; escape sequences are kept whole and colour is reset
    /// after a cut.
    static func cut(_ line: String, to width: Int) -> String {
        guard TextTable.visibleWidth(line) > width else { return line }
        var result = ""
        var visible = 0
        var inEscape = false
        for character in line {
            if inEscape {
                result.append(character)
                if character == "m" { inEscape = false }
            } else if character == "\u{1B}" {
                inEscape = true
                result.append(character)
            } else {
                guard visible < width else { continue }
                visible += 1
                result.append(character)
            }
        }
        return result.contains("\u{1B}") ? result + "\u{1B}[0m" : result
    }
}
