// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Reads an SSE body as it arrives, in pieces of any size, and classifies each event: a token, the end
/// of the stream, or an error. Only event boundaries (`\n\n`) and a few byte patterns are looked at, so
/// the load generator stays cheap next to the servers it measures.
struct EventScanner {
    private let dialect: APIDialect
    /// The unfinished event carried over from the previous piece.
    private var pending: [UInt8] = []
    /// Events seen so far.
    private(set) var events = 0
    /// Token events seen so far.
    private(set) var tokenEvents = 0
    /// Whether the final event (`message_stop` / `data: [DONE]`) arrived.
    private(set) var sawEnd = false
    /// Whether an error event arrived.
    private(set) var sawError = false

    init(dialect: APIDialect) {
        self.dialect = dialect
        pending.reserveCapacity(1024)
    }

    /// Consumes the next piece of the body; returns how many token events it completed.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Int {
        let before = tokenEvents
        var start = 0
        var index = 0
        let count = bytes.count
        while index < count {
            if bytes[index] == UInt8(ascii: "\n") {
                let previousIsNewline = index > start ? bytes[index - 1] == UInt8(ascii: "\n")
                    : (pending.last == UInt8(ascii: "\n"))
                if previousIsNewline {
                    pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                    classify(pending)
                    pending.removeAll(keepingCapacity: true)
                    start = index + 1
                }
            }
            index += 1
        }
        if start < count { pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<count])) }
        return tokenEvents - before
    }

    /// The body has ended: an event left without its blank line still counts.
    mutating func finish() {
        if !pending.isEmpty { classify(pending) }
        pending.removeAll()
    }

    /// One whole event, without its final blank line.
    private mutating func classify(_ event: [UInt8]) {
        if event.allSatisfy({ $0 == UInt8(ascii: "\n") }) { return }
        events += 1
        switch dialect {
        case .anthropic:
            switch Self.anthropicEventName(event) {
            case "content_block_delta": tokenEvents += 1
            case "message_stop": sawEnd = true
            case "error": sawError = true
            default: break
            }
        case .openAI:
            if event.starts(with: Self.done) {
                sawEnd = true
            } else if event.firstIndex(of: Self.errorField) != nil {
                sawError = true
            } else if event.firstIndex(of: Self.contentField) != nil, event.firstIndex(of: Self.emptyContent) == nil {
                tokenEvents += 1
            }
        }
    }

    /// The event's name: its `event:` line, or else the `type` its data opens with (servers that send
    /// `data:` lines only, spaced as Python's `json.dumps` writes them or compact).
    static func anthropicEventName(_ event: [UInt8]) -> Substring {
        if event.starts(with: "event:".utf8) {
            let text = String(decoding: event, as: UTF8.self)
            let line = text.dropFirst("event:".count).prefix { $0 != "\n" }
            return line.drop { $0 == " " }
        }
        guard let data = event.firstIndex(of: Self.dataField) else { return "" }
        var rest = Substring(String(decoding: event[(data + Self.dataField.count)...], as: UTF8.self)).drop { $0 == " " }
        guard rest.hasPrefix("{\"type\":") else { return "" }
        rest = rest.dropFirst("{\"type\":".count).drop { $0 == " " }
        guard rest.first == "\"" else { return "" }
        return rest.dropFirst().prefix { $0 != "\"" }
    }

    private static let dataField = Array("data:".utf8)
    private static let done = Array("data: [DONE]".utf8)
    private static let errorField = Array("{\"error\":".utf8)
    private static let contentField = Array("\"content\":\"".utf8)
    private static let emptyContent = Array("\"content\":\"\"".utf8)
}
