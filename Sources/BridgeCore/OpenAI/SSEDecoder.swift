// SPDX-License-Identifier: Apache-2.0
/// Splits a `text/event-stream` byte stream into the `data` payloads of its events.
///
/// Bytes may arrive split anywhere, even inside a UTF-8 sequence; lines end in `\n`, `\r\n` or `\r`;
/// several `data:` lines of one event are joined with `\n`; comments and other fields are ignored.
///
/// Memory is bounded by `maximumEventLength`: a line, or the data of one event, longer than that is
/// an upstream protocol fault (`SSEDecoderError.eventTooLarge`), not something to buffer — `data:`
/// lines that never end their event would otherwise grow the buffer forever.
public struct SSEDecoder: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false
    /// Longest line, and longest data of one event, kept (bytes).
    public let maximumEventLength: Int

    /// The default bound: 8 MiB. vLLM's largest events (a chunk carrying a whole tool call's arguments)
    /// are a few KiB to a few hundred KiB.
    public static let defaultMaximumEventLength = 8 << 20

    public init(maximumEventLength: Int = SSEDecoder.defaultMaximumEventLength) {
        self.maximumEventLength = maximumEventLength
    }

    /// Feeds bytes; returns the data payloads of the events they completed.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(SSEDecoderError) -> [[UInt8]] {
        // Callers in other modules reach this unspecialized: iterating `bytes` generically costs a heap
        // allocation per byte (Array's element read through the Collection witness). Contiguous bytes
        // (every caller's `[UInt8]`) are scanned as a buffer instead.
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in feed(buffer: buffer) }
        let result = contiguous ?? Array(bytes).withUnsafeBufferPointer { buffer in feed(buffer: buffer) }
        return try result.get()
    }

    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>) -> Result<[[UInt8]], SSEDecoderError> {
        var events: [[UInt8]] = []
        var index = 0
        while index < buffer.count {
            let byte = buffer[index]
            if lastWasCR {
                lastWasCR = false
                if byte == 0x0A {
                    index += 1
                    continue
                }
            }
            switch byte {
            case 0x0A:
                guard endLine(into: &events) else { return .failure(.eventTooLarge(limit: maximumEventLength)) }
                index += 1
            case 0x0D:
                lastWasCR = true
                guard endLine(into: &events) else { return .failure(.eventTooLarge(limit: maximumEventLength)) }
                index += 1
            default:
                // The rest of the line, up to the next line end, in one append.
                var end = index + 1
                while end < buffer.count, buffer[end] != 0x0A, buffer[end] != 0x0D { end += 1 }
                line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<end]))
                if line.count > maximumEventLength { return .failure(.eventTooLarge(limit: maximumEventLength)) }
                index = end
            }
        }
        return .success(events)
    }

    /// The payload of a last event that ended without its blank line, if any.
    public mutating func finish() -> [UInt8]? {
        var events: [[UInt8]] = []
        if !line.isEmpty, !endLine(into: &events) { return nil }
        if hasData {
            hasData = false
            let payload = data
            data.removeAll()
            return payload
        }
        return events.first
    }

    /// Ends the current line; false when it makes the event's data longer than the bound.
    private mutating func endLine(into events: inout [[UInt8]]) -> Bool {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData {
                events.append(data)
                data.removeAll(keepingCapacity: true)
                hasData = false
            }
            return true
        }
        guard line.starts(with: "data".utf8) else { return true }
        var valueStart = 4
        if line.count > 4 {
            guard line[4] == UInt8(ascii: ":") else { return true }
            valueStart = 5
            if line.count > 5, line[5] == UInt8(ascii: " ") { valueStart = 6 }
        }
        // Both counts are at most the bound, so the sum cannot overflow.
        guard data.count + 1 + (line.count - valueStart) <= maximumEventLength else {
            data.removeAll()
            hasData = false
            return false
        }
        if hasData { data.append(0x0A) }
        data.append(contentsOf: line[valueStart...])
        hasData = true
        return true
    }
}

/// The upstream broke the event-stream format in a way the decoder will not buffer.
public enum SSEDecoderError: Error, Sendable, Equatable {
    /// A line, or the data of one event, is longer than `limit` bytes.
    case eventTooLarge(limit: Int)
}
