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
    /// to the buffer, byte for byte what `JSONWriter` writes for `json`, without building the JSON tree:
    /// the tree's allocations were most of the bridge's work per streamed token.
    public func writeSSE(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "event: ".utf8)
        buffer.append(contentsOf: name.utf8)
        buffer.append(contentsOf: "\ndata: ".utf8)
        switch self {
        case .contentBlockDelta(let index, let delta):
            buffer.append(contentsOf: #"{"type":"content_block_delta","index":"#.utf8)
            buffer.append(contentsOf: String(index).utf8)
            buffer.append(contentsOf: #","delta":{"type":""#.utf8)
            let (type, key, text) = delta.wireFields
            buffer.append(contentsOf: type.utf8)
            buffer.append(contentsOf: #"",""#.utf8)
            buffer.append(contentsOf: key.utf8)
            buffer.append(contentsOf: #"":"#.utf8)
            JSONWriter.writeString(text, into: &buffer)
            buffer.append(contentsOf: "}}".utf8)
        case .contentBlockStop(let index):
            buffer.append(contentsOf: #"{"type":"content_block_stop","index":"#.utf8)
            buffer.append(contentsOf: String(index).utf8)
            buffer.append(UInt8(ascii: "}"))
        default:
            JSONWriter.write(json, into: &buffer)
        }
        buffer.append(contentsOf: "\n\n".utf8)
    }

    /// The event as SSE bytes.
    public var sseBytes: [UInt8] {
        var buffer: [UInt8] = []
        writeSSE(into: &buffer)
        return buffer
    }
}
