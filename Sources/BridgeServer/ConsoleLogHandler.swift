// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import Logging

/// Plain leveled text on standard error: `LEVEL message`, one line per record. Structured metadata
/// (REQUEST_ID, STATUS…) is already in the message text of the lines that carry it, so it is not
/// repeated; the journald handler is where the fields go as fields.
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
        line += event.message.description
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

extension BridgeConfig.LogLevel {
    /// The swift-log level of the same name.
    public var swiftLogLevel: Logger.Level {
        Logger.Level(rawValue: rawValue) ?? .info
    }
}
