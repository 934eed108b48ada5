// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A delta inside `content_block_delta`.
public enum AnthropicBlockDelta: Sendable, Equatable {
    case text(String)
    case inputJSON(String)
    case thinking(String)
    case signature(String)

    var json: JSONValue {
        let (type, key, text) = wireFields
        return ["type": .string(type), key: .string(text)]
    }

    /// `,"delta":{"type":"…","…":`, what `writeSSE` writes between the index and the delta's text.
    var wirePrefix: StaticString {
        switch self {
        case .text: #","delta":{"type":"text_delta","text":"#
        case .inputJSON: #","delta":{"type":"input_json_delta","partial_json":"#
        case .thinking: #","delta":{"type":"thinking_delta","thinking":"#
        case .signature: #","delta":{"type":"signature_delta","signature":"#
        }
    }

    /// The delta's `type`, the name of its one other member and that member's text.
    var wireFields: (type: String, key: String, text: String) {
        switch self {
        case .text(let text): ("text_delta", "text", text)
        case .inputJSON(let partial): ("input_json_delta", "partial_json", partial)
        case .thinking(let thinking): ("thinking_delta", "thinking", thinking)
        case .signature(let signature): ("signature_delta", "signature", signature)
        }
    }
}

/// One server-sent event of a streamed Messages API response.
public enum AnthropicStreamEvent: Sendable, Equatable {
    /// The message with empty content and a null stop reason.
    case messageStart(AnthropicMessage)
    case contentBlockStart(index: Int, block: AnthropicResponseBlock)
    case contentBlockDelta(index: Int, delta: AnthropicBlockDelta)
    case contentBlockStop(index: Int)
    case messageDelta(stopReason: AnthropicStopReason, stopSequence: String?, usage: AnthropicUsage)
    case messageStop
    case ping
    case error(AnthropicError)

    /// The SSE `event:` name, equal to the payload's `type`.
    public var name: String {
        switch self {
        case .messageStart: "message_start"
        case .contentBlockStart: "content_block_start"
        case .contentBlockDelta: "content_block_delta"
        case .contentBlockStop: "content_block_stop"
        case .messageDelta: "message_delta"
        case .messageStop: "message_stop"
        case .ping: "ping"
        case .error: "error"
        }
    }

    public var json: JSONValue {
        switch self {
        case .messageStart(let message):
            ["type": "message_start", "message": message.json]
        case .contentBlockStart(let index, let block):
            ["type": "content_block_start", "index": .int(index), "content_block": block.openingJSON]
        case .contentBlockDelta(let index, let delta):
            ["type": "content_block_delta", "index": .int(index), "delta": delta.json]
        case .contentBlockStop(let index):
            ["type": "content_block_stop", "index": .int(index)]
        case .messageDelta(let stopReason, let stopSequence, let usage):
            [
                "type": "message_delta",
                "delta": ["stop_reason": .string(stopReason.rawValue), "stop_sequence": stopSequence.map { .string($0) } ?? .null],
                "usage": usage.json,
            ]
        case .messageStop:
            ["type": "message_stop"]
        case .ping:
            ["type": "ping"]
        case .error(let error):
            error.body()
        }
    }

    /// Appends `event: NAME\ndata: JSON\n\n` to `buffer`.
    ///
    /// The events sent once per token (`content_block_delta`) and their neighbours are written straight
    /// to the buffer from static text, byte for byte what `JSONWriter` writes for `json`, without
    /// building the JSON tree: the tree's allocations were most of the bridge's work per streamed token.
    public func writeSSE(into buffer: inout [UInt8]) {
        switch self {
        case .contentBlockDelta(let index, let delta):
            Self.append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":", to: &buffer)
            Self.appendDecimal(index, to: &buffer)
            Self.append(delta.wirePrefix, to: &buffer)
            JSONWriter.writeString(delta.wireFields.text, into: &buffer)
            Self.append("}}\n\n", to: &buffer)
        case .contentBlockStop(let index):
            Self.append("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":", to: &buffer)
            Self.appendDecimal(index, to: &buffer)
            Self.append("}\n\n", to: &buffer)
        default:
            buffer.append(contentsOf: "event: ".utf8)
            buffer.append(contentsOf: name.utf8)
            buffer.append(contentsOf: "\ndata: ".utf8)
            JSONWriter.write(json, into: &buffer)
            buffer.append(contentsOf: "\n\n".utf8)
        }
    }

    private static func append(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    /// The decimal digits of `value`, as `JSONValue.int(value)` writes them.
    private static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        guard value >= 0 else {
            buffer.append(contentsOf: String(value).utf8)
            return
        }
        let start = buffer.count
        var rest = value
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        buffer[start...].reverse()
    }

    /// The event as SSE bytes.
    public var sseBytes: [UInt8] {
        var buffer: [UInt8] = []
        writeSSE(into: &buffer)
        return buffer
    }
}
