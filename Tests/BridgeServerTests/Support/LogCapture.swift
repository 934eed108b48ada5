// SPDX-License-Identifier: Apache-2.0
import Logging
import NIOConcurrencyHelpers

/// A logger whose records are kept for the test to read.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata = [:]
    }

    private let stored = NIOLockedValueBox<[Line]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    var lines: [Line] { stored.withLockedValue { $0 } }

    /// How many lines at `level` contain `text`.
    func count(_ level: Logger.Level, containing text: String) -> Int {
        lines.filter { $0.level == level && $0.message.contains(text) }.count
    }

    fileprivate func append(_ line: Line) {
        stored.withLockedValue { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(Line(level: event.level, message: event.message.description, metadata: event.metadata ?? [:]))
        }
    }
}
