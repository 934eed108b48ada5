// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import FoundationEssentials
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Plain leveled text on standard error: `LEVEL message`, one line per record. Structured metadata
/// (REQUEST_ID, STATUS…) is already in the message text of the lines that carry it, so it is not
/// repeated; the journald handler is where the fields go as fields.
///
/// Messages carry what clients and backends sent (model names, paths, error texts), so control
/// characters are escaped (`escaped(_:)`): a model name holding a newline cannot start a forged line.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let timestamps: Bool

    /// `timestamps` off when a supervisor (systemd) stamps lines itself.
    public init(level: Logger.Level, timestamps: Bool) {
        logLevel = level
        self.timestamps = timestamps
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line with a single `write(2)`, so lines from different threads never interleave.
    /// The line is built as bytes in one buffer sized up front.
    public func log(event: LogEvent) {
        var message = Self.escaped(event.message.description)
        var line: [UInt8] = []
        line.reserveCapacity(message.utf8.count + 32)
        if timestamps {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            var stamp = Self.timestamp(secondsSince1970: Int(now.tv_sec))
            stamp.withUTF8 { line.append(contentsOf: $0) }
            line.append(UInt8(ascii: " "))
        }
        Self.levelColumn(event.level).withUTF8Buffer { line.append(contentsOf: $0) }
        message.withUTF8 { line.append(contentsOf: $0) }
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var rest = bytes
            while !rest.isEmpty {
                let written = write(STDERR_FILENO, rest.baseAddress, rest.count)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }

    /// The level in upper case, padded with spaces to 8 columns (at least one space after it).
    static func levelColumn(_ level: Logger.Level) -> StaticString {
        switch level {
        case .trace: "TRACE   "
        case .debug: "DEBUG   "
        case .info: "INFO    "
        case .notice: "NOTICE  "
        case .warning: "WARNING "
        case .error: "ERROR   "
        case .critical: "CRITICAL "
        }
    }
}

extension ConsoleLogHandler {
    /// `text` on one line: a backslash doubled, `\n` `\r` `\t` written as such, and every other
    /// control character (C0, DEL, C1) and line or paragraph separator as `\u` and four hex digits.
    /// Printable text, non-ASCII letters included, is unchanged.
    public static func escaped(_ text: String) -> String {
        // Printable ASCII without a backslash, the usual line, is seen byte by byte in the string's own
        // storage; anything else is looked at as Unicode scalars.
        let printableASCII = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 >= 0x7F || $0 == 0x5C }
        }
        if printableASCII == true { return text }
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where needsEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `seconds` after 1970 in UTC as `Date.formatted(.iso8601)` writes it (`2026-12-05T15:48:29Z`),
    /// from `gmtime_r`: the formatter cost a tenth of a request's log line.
    public static func timestamp(secondsSince1970 seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        func digits(_ value: Int32, _ count: Int) {
            var divisor: Int32 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x5C: true
        default: false
        }
    }
}

extension BridgeConfig.LogLevel {
    /// The swift-log level of the same name.
    public var swiftLogLevel: Logger.Level {
        Logger.Level(rawValue: rawValue) ?? .info
    }
}
