// SPDX-License-Identifier: Apache-2.0
import CSystemd
import Glibc
import Logging

/// A swift-log handler that writes to the systemd journal through `sd_journal_sendv`, with structured
/// fields: `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`, and every metadata
/// key in UPPER_SNAKE (`REQUEST_ID`, `ALIAS`, `BACKEND`, `STATUS`, `TTFT_MS`, `DURATION_MS`,
/// `INPUT_TOKENS`, `OUTPUT_TOKENS`…). Metadata never carries prompts or keys.
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let identifier: String

    public init(identifier: String, level: Logger.Level) {
        self.identifier = identifier
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// True when standard error is connected to the journal: `JOURNAL_STREAM` names the device and
    /// inode of our stderr (systemd sets it for services with journal output).
    public static func stderrIsJournal(environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    public func log(event: LogEvent) {
        Self.send(Self.fields(
            message: event.message.description, level: event.level, identifier: identifier,
            file: event.file, line: event.line, function: event.function,
            metadata: metadata.merging(event.metadata ?? [:]) { $1 }
        ))
    }

    /// The record's fields as `NAME=value`. Values are kept byte for byte, newlines included:
    /// `sd_journal_sendv` sends a value holding a newline length-prefixed, so no escaping is needed
    /// (and none is done) for the journal to keep one record one entry.
    static func fields(
        message: String, level: Logger.Level, identifier: String, file: String, line: UInt, function: String, metadata: Logger.Metadata
    ) -> [String] {
        var fields: [String] = [
            "MESSAGE=\(message)",
            "PRIORITY=\(priority(level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        for (key, value) in metadata where isFieldName(key) {
            fields.append("\(key)=\(value)")
        }
        return fields
    }

    static func send(_ fields: [String]) {
        var storage = fields.map { Array($0.utf8) }
        var vectors: [iovec] = []
        vectors.reserveCapacity(storage.count)
        for index in storage.indices {
            storage[index].withUnsafeMutableBytes { bytes in
                vectors.append(iovec(iov_base: bytes.baseAddress, iov_len: bytes.count))
            }
        }
        // The iovecs point into `storage`, which stays alive (and unmoved) until the call returns.
        withExtendedLifetime(storage) {
            _ = vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// Journal field names: upper-case letters, digits and `_`, not starting with `_` or a digit.
    static func isFieldName(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// syslog priorities: 7 debug … 2 critical.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
