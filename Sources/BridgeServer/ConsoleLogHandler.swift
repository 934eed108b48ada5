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
    public func log(event: LogEvent) {
        var line = ""
        if timestamps {
            line += Date().formatted(.iso8601) + " "
        }
        let level = event.level.rawValue.uppercased()
        line += level + String(repeating: " ", count: max(1, 8 - level.count))
        line += Self.escaped(event.message.description)
        line += "\n"
        line.withUTF8 { bytes in
            var rest = UnsafeRawBufferPointer(bytes)
            while !rest.isEmpty {
                let written = write(STDERR_FILENO, rest.baseAddress, rest.count)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }
}

extension ConsoleLogHandler {
    /// `text` on one line: a backslash doubled, `\n` `\r` `\t` written as such, and every other
    /// control character (C0, DEL, C1) and line or paragraph separator as `\u` and four hex digits.
    /// Printable text, non-ASCII letters included, is unchanged.
    public static func escaped(_ text: String) -> String {
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
