// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The fields of a `POST /v1/chat/completions` body the simulator acts on.
struct ChatRequest: Sendable {
    /// The requested model; `nil` when the body names none (vLLM then uses the first served model).
    var model: String?
    var messages: [JSONValue]
    var stream: Bool
    /// `stream_options.include_usage`.
    var includeUsage: Bool
    /// `stream_options.continuous_usage_stats`: usage on every chunk.
    var continuousUsage: Bool
    /// `max_completion_tokens`, else `max_tokens`.
    var maxTokens: Int?
    /// `stop`, as a list.
    var stop: [String]
    /// `tools`, when present and non-empty.
    var tools: [JSONValue]?
    /// `tool_choice`.
    var toolChoice: JSONValue?
    /// `include_reasoning` (vLLM extension, default true).
    var includeReasoning: Bool

    /// Whether vLLM would run the qwen3_coder tool parser: tools were sent and `tool_choice` is not
    /// `"none"`. Without it a model's tool-call XML reaches the client as plain content.
    var toolParserActive: Bool {
        tools != nil && toolChoice?.stringValue != "none"
    }

    /// Reads a request body; throws vLLM-style 400s for what pydantic would reject.
    init(body: JSONValue) throws(APIError) {
        guard let object = body.objectValue else {
            throw .badRequest("Request body must be a JSON object")
        }
        switch object["model"] {
        case nil, .null?: model = nil
        case .string(let name)?: model = name
        default: throw .badRequest("model: Input should be a valid string", param: "model")
        }
        guard let messages = object["messages"]?.arrayValue else {
            throw .badRequest("messages: Field required", param: "messages")
        }
        for message in messages where message["role"]?.stringValue == nil {
            throw .badRequest("messages: every message needs a string 'role'", param: "messages")
        }
        self.messages = messages
        stream = object["stream"]?.boolValue ?? false
        includeUsage = object["stream_options"]?["include_usage"]?.boolValue ?? false
        // vLLM's should_include_usage: continuous usage only together with include_usage.
        continuousUsage = includeUsage && (object["stream_options"]?["continuous_usage_stats"]?.boolValue ?? false)
        maxTokens = nil
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let value = object[key], !value.isNull else { continue }
            guard let limit = value.intValue, limit >= 1 else {
                throw .badRequest("\(key): must be at least 1, got \(value.jsonString).", param: .string(key))
            }
            maxTokens = limit
            break
        }
        switch object["stop"] {
        case nil, .null?: stop = []
        case .string(let text)?: stop = [text]
        case .array(let values)?: stop = values.compactMap(\.stringValue)
        default: throw .badRequest("stop: Input should be a valid string or list", param: "stop")
        }
        stop.removeAll(where: \.isEmpty)
        if let tools = object["tools"]?.arrayValue, !tools.isEmpty { self.tools = tools } else { tools = nil }
        toolChoice = object["tool_choice"]
        includeReasoning = object["include_reasoning"]?.boolValue ?? true
    }
}
