// SPDX-License-Identifier: Apache-2.0
/// Aligned plain-text columns: each column as wide as its widest cell, two spaces apart.
///
/// Widths count visible characters, so cells may carry ANSI colour codes.
struct TextTable {
    /// Column headings; empty for a table without a heading row (key/value lists).
    var headings: [String]
    /// The rows; shorter rows are padded with empty cells.
    var rows: [[String]] = []
    /// Columns aligned right (numbers), by index.
    var rightAligned: Set<Int> = []

    init(headings: [String] = [], rightAligned: Set<Int> = []) {
        self.headings = headings
        self.rightAligned = rightAligned
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table as lines, without trailing spaces; headings styled with `style`.
    func render(style: Style) -> String {
        let columnCount = max(headings.count, rows.map(\.count).max() ?? 0)
        guard columnCount > 0 else { return "" }
        let allRows = (headings.isEmpty ? [] : [headings]) + rows
        var widths = [Int](repeating: 0, count: columnCount)
        for row in allRows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], Self.visibleWidth(cell)) }
        }
        func line(_ row: [String], isHeading: Bool) -> String {
            var cells: [String] = []
            for index in 0..<columnCount {
                let cell = index < row.count ? row[index] : ""
                let padding = String(repeating: " ", count: widths[index] - Self.visibleWidth(cell))
                let shown = isHeading ? style.bold(cell) : cell
                cells.append(rightAligned.contains(index) ? padding + shown : shown + padding)
            }
            var text = cells.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        var lines: [String] = []
        if !headings.isEmpty { lines.append(line(headings, isHeading: true)) }
        lines += rows.map { line($0, isHeading: false) }
        return lines.joined(separator: "\n")
    }

    /// Characters a terminal shows: ANSI escape sequences do not count.
    static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                width += 1
            }
        }
        return width
    }
}
