// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// What the translation reads of a `chat.completion.chunk` (or of a whole `chat.completion`, seen as
/// one chunk). Reading is lenient: fields vLLM versions add or drop are ignored.
public struct ChatCompletionChunk: Sendable, Equatable {
    public struct ToolCallDelta: Sendable, Equatable {
        public var index: Int
        public var id: String?
        public var name: String?
        public var arguments: String?

        public init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
            self.index = index
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    public struct Usage: Sendable, Equatable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var cachedTokens: Int

        public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.cachedTokens = cachedTokens
        }

        /// Largest token count taken from a backend (2³¹−1, far beyond any context window): larger
        /// counts are clamped to it and negative ones to 0, so sums and differences of counts (usage
        /// totals, metrics counters) never overflow whatever a backend writes.
        public static let maximumTokens = Int(Int32.max)

        init?(json: JSONValue?) {
            guard let json, case .object = json else { return nil }
            promptTokens = Self.tokens(json["prompt_tokens"])
            completionTokens = Self.tokens(json["completion_tokens"])
            cachedTokens = Self.tokens(json["prompt_tokens_details"]?["cached_tokens"])
        }

        /// A backend's token count, clamped to 0...maximumTokens (a number too large for `Int` is the
        /// maximum, anything that is not a number 0).
        public static func tokens(_ value: JSONValue?) -> Int {
            guard case .number(let text)? = value else { return 0 }
            // Integers first: vLLM sends usage with every chunk, and `Double` parsing (strtod) costs more
            // than the rest of reading the count.
            if let exact = Int(text) { return min(max(exact, 0), maximumTokens) }
            guard let number = Double(text) else { return 0 }
            if let exact = JSONValue.number(text).intValue { return min(max(exact, 0), maximumTokens) }
            return number >= Double(maximumTokens) ? maximumTokens : 0
        }
    }

    public var id: String?
    /// Deltas of choice 0 (the bridge never asks for `n > 1`).
    public var reasoning: String?
    public var content: String?
    public var toolCalls: [ToolCallDelta]
    public var finishReason: String?
    /// vLLM's extension: the stop string (or token id) that ended generation.
    public var stopReason: JSONValue?
    public var usage: Usage?

    /// Whether the chunk has no choice delta and no finish (the final usage chunk, `choices: []`).
    public var carriesOnlyUsage: Bool {
        reasoning == nil && content == nil && toolCalls.isEmpty && finishReason == nil
    }

    public init(
        id: String? = nil, reasoning: String? = nil, content: String? = nil, toolCalls: [ToolCallDelta] = [],
        finishReason: String? = nil, stopReason: JSONValue? = nil, usage: Usage? = nil
    ) {
        self.id = id
        self.reasoning = reasoning
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.usage = usage
    }

    /// Reads a streamed chunk.
    public init(chunk json: JSONValue) {
        self.init(json: json, messageKey: "delta")
    }

    /// Reads a whole response as the single chunk that would carry all of it.
    public init(response json: JSONValue) {
        self.init(json: json, messageKey: "message")
    }

    private init(json: JSONValue, messageKey: String) {
        toolCalls = []
        // Each object is taken out of its enum once and looked up directly: this runs once per token.
        guard case .object(let object) = json else { return }
        id = object["id"]?.stringValue
        usage = Usage(json: object["usage"])
        guard case .array(let choices)? = object["choices"] else { return }
        guard case .object(let choice)? = choices.first(where: { ($0["index"]?.intValue ?? 0) == 0 }) else { return }
        finishReason = choice["finish_reason"]?.stringValue
        if let stop = choice["stop_reason"], !stop.isNull { stopReason = stop }
        guard case .object(let message)? = choice[messageKey] else { return }
        // vLLM renamed `reasoning_content` to `reasoning`; read either.
        reasoning = message["reasoning"]?.stringValue ?? message["reasoning_content"]?.stringValue
        content = message["content"]?.stringValue
        for (position, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            toolCalls.append(ToolCallDelta(
                index: call["index"]?.intValue ?? position,
                id: call["id"]?.stringValue,
                name: call["function"]?["name"]?.stringValue,
                arguments: call["function"]?["arguments"]?.stringValue
            ))
        }
    }
}

/// One item of an upstream stream.
public enum UpstreamStreamItem: Sendable, Equatable {
    case chunk(ChatCompletionChunk)
    /// An error sent inside the stream (`data: {"error": …}`), already in Anthropic terms.
    case error(AnthropicError)
    /// `data: [DONE]`.
    case done

    /// Reads one SSE `data` payload: the common chunk shape straight from its bytes
    /// (``ChatCompletionChunk/init(commonChunkBytes:)``), anything else through the JSON tree.
    public init(data: [UInt8]) {
        if let chunk = ChatCompletionChunk(commonChunkBytes: data) {
            self = .chunk(chunk)
            return
        }
        self.init(treeData: data)
    }

    /// Reads one SSE `data` payload through the JSON tree: the reading the fast path must agree with.
    public init(treeData data: [UInt8]) {
        if data.elementsEqual("[DONE]".utf8) {
            self = .done
            return
        }
        guard let json = try? JSONParser.parse(data) else {
            self = .error(AnthropicError(.api, "The backend sent a stream chunk that is not valid JSON"))
            return
        }
        if let error = UpstreamErrorMapper.streamError(in: json) {
            self = .error(error)
            return
        }
        self = .chunk(ChatCompletionChunk(chunk: json))
    }
}
