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
            case 0x0A, 0x0D:
                lastWasCR = byte == 0x0D
                guard endLine(into: &events) else { return .failure(.eventTooLarge(limit: maximumEventLength)) }
                index += 1
            default:
                // The rest of the line, up to the next line end.
                let end = Self.lineEnd(in: buffer, from: index + 1)
                let segment = UnsafeBufferPointer(rebasing: buffer[index..<end])
                if line.isEmpty, end < buffer.count {
                    // A whole line inside this read (vLLM's usual case): taken from the read itself, with
                    // its line end, instead of being copied into `line` first.
                    guard segment.count <= maximumEventLength, take(line: segment, into: &events) else {
                        return .failure(.eventTooLarge(limit: maximumEventLength))
                    }
                    lastWasCR = buffer[end] == 0x0D
                    index = end + 1
                } else {
                    line.append(contentsOf: segment)
                    if line.count > maximumEventLength { return .failure(.eventTooLarge(limit: maximumEventLength)) }
                    index = end
                }
            }
        }
        return .success(events)
    }

    /// The index of the first `\n` or `\r` in `buffer[start...]`, or `buffer.count` when there is none.
    /// Eight bytes are tested at a time (a byte-at-a-time scan was most of the decoder's cost).
    private static func lineEnd(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = buffer.baseAddress {
            let bytes = UnsafeRawPointer(base)
            while index + 8 <= buffer.count, !containsLineBreak(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
        }
        while index < buffer.count, buffer[index] != 0x0A, buffer[index] != 0x0D { index += 1 }
        return index
    }

    /// Whether any of the eight bytes of `word` is `\n` or `\r` (a byte of `word ^ pattern` is zero).
    private static func containsLineBreak(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let lineFeeds = word ^ (ones &* 0x0A)
        let carriageReturns = word ^ (ones &* 0x0D)
        return ((lineFeeds &- ones) & ~lineFeeds | (carriageReturns &- ones) & ~carriageReturns) & highBits != 0
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
        var current: [UInt8] = []
        swap(&current, &line)
        defer {
            current.removeAll(keepingCapacity: true)
            swap(&current, &line)
        }
        return current.withUnsafeBufferPointer { take(line: $0, into: &events) }
    }

    /// Handles one complete line (without its line end); false when it makes the event's data longer
    /// than the bound.
    private mutating func take(line: UnsafeBufferPointer<UInt8>, into events: inout [[UInt8]]) -> Bool {
        if line.isEmpty {
            if hasData {
                events.append(data)
                // Not `removeAll(keepingCapacity:)`: the event shares the buffer, so that would allocate
                // another of the same capacity — as large as the largest event so far — for every event.
                data = []
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
        data.append(contentsOf: UnsafeBufferPointer(rebasing: line[valueStart...]))
        hasData = true
        return true
    }
}

/// The upstream broke the event-stream format in a way the decoder will not buffer.
public enum SSEDecoderError: Error, Sendable, Equatable {
    /// A line, or the data of one event, is longer than `limit` bytes.
    case eventTooLarge(limit: Int)
}
