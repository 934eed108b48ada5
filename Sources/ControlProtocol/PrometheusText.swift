// SPDX-License-Identifier: Apache-2.0

/// A reader of Prometheus' text exposition format (0.0.4, what vLLM's `prometheus_client` serves),
/// for just what the bridge needs: the samples of a few named families, with their labels.
///
/// The page comes from a backend, so it is hostile input: at most ``maximumLines`` lines and the first
/// ``maximumBytes`` bytes are read, a line longer than ``maximumLineBytes`` is skipped, a sample with
/// more than ``maximumLabels`` labels or a label value longer than ``maximumLabelValueBytes`` is
/// skipped, and a value that is not a finite number is reported as nil.
public enum PrometheusText {
    /// Bytes of the page read; the rest is ignored.
    public static let maximumBytes = 1 << 20
    /// Lines of the page read; the rest is ignored.
    public static let maximumLines = 100_000
    /// A longer line (comment or sample) is skipped.
    public static let maximumLineBytes = 16 * 1024
    /// A sample with more labels is skipped.
    public static let maximumLabels = 32
    /// A sample with a longer label value (after unescaping) is skipped.
    public static let maximumLabelValueBytes = 1024

    /// One label of a sample, its value unescaped (`\\`, `\"`, `\n`).
    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String

        /// A label.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Calls `body` with each well-formed sample of `page` whose metric name is in `names`, in page
    /// order: its name, labels, and value (nil when NaN, infinite or not a number). Comments, blank
    /// lines, malformed lines and other families are skipped.
    public static func forEachSample(
        in page: some Collection<UInt8>, named names: Set<String>, _ body: (_ name: String, _ labels: [Label], _ value: Double?) -> Void
    ) {
        let bytes = Array(page.prefix(maximumBytes))
        var start = 0
        var lines = 0
        // A last line without its newline is not read: the page may have been cut, so its value may be too.
        while lines < maximumLines, let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if end - start <= maximumLineBytes, let sample = parseSample(bytes[start..<end], names: names) {
                body(sample.name, sample.labels, sample.value)
            }
            start = end + 1
            lines += 1
        }
    }

    /// One sample line (`name{labels} value [timestamp]`), or nil when it is a comment, blank,
    /// malformed, over a bound, or of another family.
    static func parseSample(_ line: ArraySlice<UInt8>, names: Set<String>) -> (name: String, labels: [Label], value: Double?)? {
        var index = line.startIndex
        func skipSpaces() { while index < line.endIndex, line[index] == UInt8(ascii: " ") || line[index] == UInt8(ascii: "\t") { index += 1 } }
        skipSpaces()
        guard index < line.endIndex, line[index] != UInt8(ascii: "#") else { return nil }
        let nameStart = index
        while index < line.endIndex, isNameByte(line[index], first: index == nameStart) { index += 1 }
        guard index > nameStart else { return nil }
        let name = String(decoding: line[nameStart..<index], as: UTF8.self)
        guard names.contains(name) else { return nil }
        var labels: [Label] = []
        if index < line.endIndex, line[index] == UInt8(ascii: "{") {
            index += 1
            while true {
                skipSpaces()
                guard index < line.endIndex else { return nil }
                if line[index] == UInt8(ascii: "}") { index += 1; break }
                guard labels.count < maximumLabels else { return nil }
                let labelStart = index
                while index < line.endIndex, isNameByte(line[index], first: index == labelStart), line[index] != UInt8(ascii: ":") { index += 1 }
                guard index > labelStart else { return nil }
                let labelName = String(decoding: line[labelStart..<index], as: UTF8.self)
                skipSpaces()
                guard index < line.endIndex, line[index] == UInt8(ascii: "=") else { return nil }
                index += 1
                skipSpaces()
                guard index < line.endIndex, line[index] == UInt8(ascii: "\"") else { return nil }
                index += 1
                var value: [UInt8] = []
                while true {
                    guard index < line.endIndex, value.count <= maximumLabelValueBytes else { return nil }
                    let byte = line[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        guard index < line.endIndex else { return nil }
                        let escaped = line[index]
                        index += 1
                        value.append(escaped == UInt8(ascii: "n") ? UInt8(ascii: "\n") : escaped)
                    } else {
                        value.append(byte)
                    }
                }
                guard value.count <= maximumLabelValueBytes else { return nil }
                labels.append(Label(name: labelName, value: String(decoding: value, as: UTF8.self)))
                skipSpaces()
                guard index < line.endIndex else { return nil }
                if line[index] == UInt8(ascii: ",") { index += 1 }
            }
        }
        let spaceStart = index
        skipSpaces()
        guard index > spaceStart, index < line.endIndex else { return nil }
        let valueStart = index
        while index < line.endIndex, line[index] != UInt8(ascii: " "), line[index] != UInt8(ascii: "\t") { index += 1 }
        let value = number(line[valueStart..<index])
        return (name, labels, value)
    }

    /// A sample value: a decimal number (Go's `ParseFloat` syntax without hex), nil for NaN, ±Inf or
    /// anything else.
    static func number(_ text: ArraySlice<UInt8>) -> Double? {
        guard !text.isEmpty, text.count <= 64,
              text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e")
                  || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }),
              let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite
        else { return nil }
        return value
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"): true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): !first
        default: false
        }
    }
}
