// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Why the model stopped, as Anthropic reports it.
public enum AnthropicStopReason: String, Sendable, Equatable {
    case endTurn = "end_turn"
    case maxTokens = "max_tokens"
    case stopSequence = "stop_sequence"
    case toolUse = "tool_use"
    case refusal
}

/// Token counts of one response, Anthropic's way: `input_tokens` excludes the cached part.
public struct AnthropicUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheCreationInputTokens: Int
    public var cacheReadInputTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheCreationInputTokens: Int = 0, cacheReadInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
    }

    public var json: JSONValue {
        [
            "input_tokens": .int(inputTokens),
            "cache_creation_input_tokens": .int(cacheCreationInputTokens),
            "cache_read_input_tokens": .int(cacheReadInputTokens),
            "output_tokens": .int(outputTokens),
        ]
    }
}

/// A content block of a response message.
public enum AnthropicResponseBlock: Sendable, Equatable {
    case thinking(thinking: String, signature: String)
    case text(String)
    case toolUse(id: String, name: String, input: JSONValue)

    public var json: JSONValue {
        switch self {
        case .thinking(let thinking, let signature):
            ["type": "thinking", "thinking": .string(thinking), "signature": .string(signature)]
        case .text(let text):
            ["type": "text", "text": .string(text)]
        case .toolUse(let id, let name, let input):
            ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        }
    }

    /// The block as `content_block_start` announces it: empty text, empty thinking, `input: {}`.
    var openingJSON: JSONValue {
        switch self {
        case .thinking: ["type": "thinking", "thinking": "", "signature": ""]
        case .text: ["type": "text", "text": ""]
        case .toolUse(let id, let name, _): ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]]
        }
    }
}

/// A whole (non-streaming) Messages API response.
public struct AnthropicMessage: Sendable, Equatable {
    public var id: String
    /// The model name the client asked for, not the backend's.
    public var model: String
    public var content: [AnthropicResponseBlock]
    public var stopReason: AnthropicStopReason?
    public var stopSequence: String?
    public var usage: AnthropicUsage

    public init(id: String, model: String, content: [AnthropicResponseBlock], stopReason: AnthropicStopReason?, stopSequence: String?, usage: AnthropicUsage) {
        self.id = id
        self.model = model
        self.content = content
        self.stopReason = stopReason
        self.stopSequence = stopSequence
        self.usage = usage
    }

    public var json: JSONValue {
        [
            "id": .string(id),
            "type": "message",
            "role": "assistant",
            "model": .string(model),
            "content": .array(content.map(\.json)),
            "stop_reason": stopReason.map { .string($0.rawValue) } ?? .null,
            "stop_sequence": stopSequence.map { .string($0) } ?? .null,
            "usage": usage.json,
        ]
    }
}
