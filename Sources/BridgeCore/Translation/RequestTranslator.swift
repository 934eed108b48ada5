// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// An OpenAI Chat Completions request body made from an Anthropic request, with what the response
/// translation needs and what was dropped on the way.
public struct TranslatedRequest: Sendable, Equatable {
    /// The `/v1/chat/completions` body.
    public var body: JSONObject
    public var context: TranslationContext
    /// Things the client sent that the backend cannot do and were left out (for the log).
    public var warnings: [String]

    /// The body of vLLM's `POST /tokenize` (chat form) for the same conversation and tools, which
    /// counts exactly the prompt tokens the completion request would use.
    public var tokenizeBody: JSONValue {
        var object: JSONObject = ["model": body["model"] ?? .null, "messages": body["messages"] ?? .array([])]
        if let tools = body["tools"] { object["tools"] = tools }
        object["add_generation_prompt"] = body["add_generation_prompt"] ?? .bool(true)
        if let kwargs = body["chat_template_kwargs"] { object["chat_template_kwargs"] = kwargs }
        if let continues = body["continue_final_message"] { object["continue_final_message"] = continues }
        return .object(object)
    }
}

/// Options of the request translation that come from the bridge's configuration.
public struct RequestTranslationOptions: Sendable, Equatable {
    public var rescuesQwenMarkup: Bool
    public var fallbackMessageID: String
    /// `preserve_thinking`: also ask the chat template to keep the reasoning of every earlier assistant
    /// turn (`chat_template_kwargs.preserve_thinking: true`, Qwen3.6 templates), not only of the turns
    /// after the last user query.
    public var preservesThinking: Bool

    public init(rescuesQwenMarkup: Bool = true, fallbackMessageID: String = "msg_bridge", preservesThinking: Bool = false) {
        self.rescuesQwenMarkup = rescuesQwenMarkup
        self.fallbackMessageID = fallbackMessageID
        self.preservesThinking = preservesThinking
    }
}

/// Anthropic Messages request → OpenAI Chat Completions request, the way vLLM serving Qwen3 wants it.
public enum RequestTranslator {
    /// The first system block Claude Code sends starts with this; it carries a per-request nonce that
    /// would defeat vLLM's prefix cache, and means nothing to a local model.
    static let billingHeaderPrefix = "x-anthropic-billing-header:"
    /// Content of the tool message added for a `tool_use` that got no `tool_result`.
    static let missingResultPlaceholder = "No result was provided for this tool call."
    static let errorResultPrefix = "Error: "

    /// Translates `request`; `resolveModel` maps the client's model name to the backend model id
    /// (throwing `not_found_error` for a name it does not know).
    public static func translate(
        _ request: AnthropicRequest,
        options: RequestTranslationOptions = RequestTranslationOptions(),
        resolveModel: (String) throws(AnthropicError) -> String
    ) throws(AnthropicError) -> TranslatedRequest {
        let backendModel = try resolveModel(request.model)
        var warnings: [String] = []
        var toolNames = ToolNameMap()
        var toolSchemas: [String: JSONValue] = [:]

        // Tools first: their backend names are needed for history and tool_choice.
        var tools: [JSONValue] = []
        for tool in request.tools {
            switch tool {
            case .custom(let name, let description, let schema):
                let backendName = toolNames.backendName(for: name)
                toolSchemas[backendName] = schema
                var function: JSONObject = ["name": .string(backendName)]
                if let description { function["description"] = .string(description) }
                function["parameters"] = schema
                tools.append(["type": "function", "function": .object(function)])
            case .server(let type, let name):
                warnings.append("dropped Anthropic server tool \(name.map { "'\($0)' " } ?? "")of type '\(type)': a local model cannot run it")
            }
        }

        var builder = ConversationBuilder(toolNames: toolNames)
        builder.addSystem(request.system.filter { !$0.hasPrefix(billingHeaderPrefix) })
        for (index, message) in request.messages.enumerated() {
            builder.add(message, at: index)
        }
        let conversation = builder.finish()
        warnings += conversation.warnings
        toolNames = conversation.toolNames

        var body: JSONObject = ["model": .string(backendModel), "messages": .array(conversation.messages)]
        if !tools.isEmpty {
            body["tools"] = .array(tools)
            if let choice = request.toolChoice {
                switch choice.mode {
                case .auto: body["tool_choice"] = "auto"
                case .any: body["tool_choice"] = "required"
                case .none: body["tool_choice"] = "none"
                case .tool(let name):
                    body["tool_choice"] = ["type": "function", "function": ["name": .string(toolNames.backendName(for: name))]]
                }
                if choice.disableParallelToolUse { body["parallel_tool_calls"] = false }
            }
        } else if request.toolChoice != nil, !request.tools.isEmpty {
            warnings.append("dropped tool_choice: none of the offered tools can run on this backend")
        }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .int(maxTokens) }
        if let temperature = request.temperature { body["temperature"] = temperature }
        if let topP = request.topP { body["top_p"] = topP }
        if let topK = request.topK { body["top_k"] = topK }
        if !request.stopSequences.isEmpty { body["stop"] = .array(request.stopSequences.map { .string($0) }) }
        if request.stream {
            body["stream"] = true
            // continuous_usage_stats: vLLM then puts `usage` (with `prompt_tokens`) on every chunk, the
            // first included, so `message_start` can report the real prompt size.
            body["stream_options"] = ["include_usage": true, "continuous_usage_stats": true]
        }
        var templateArguments = JSONObject()
        if let thinking = request.thinking {
            templateArguments["enable_thinking"] = .bool(thinking.enablesThinking)
        }
        if options.preservesThinking { templateArguments["preserve_thinking"] = true }
        if !templateArguments.isEmpty { body["chat_template_kwargs"] = .object(templateArguments) }
        if conversation.endsWithPrefill {
            body["add_generation_prompt"] = false
            body["continue_final_message"] = true
        }

        let context = TranslationContext(
            clientModel: request.model,
            backendModel: backendModel,
            toolNames: toolNames,
            toolSchemas: toolSchemas,
            stopSequences: request.stopSequences,
            thinking: request.thinking,
            continuesPrefill: conversation.endsWithPrefill,
            rescuesQwenMarkup: options.rescuesQwenMarkup,
            fallbackMessageID: options.fallbackMessageID
        )
        return TranslatedRequest(body: body, context: context, warnings: warnings)
    }
}

/// Builds the OpenAI message list: one leading system message, tool results as `tool` messages in
/// order, repaired tool-call pairing, and same-role turns merged.
struct ConversationBuilder {
    struct Result {
        var messages: [JSONValue]
        var warnings: [String]
        var toolNames: ToolNameMap
        var endsWithPrefill: Bool
    }

    /// A user or assistant message under construction.
    private enum Turn {
        case user(parts: [JSONValue])
        case assistant(reasoning: [String], text: [String], toolCalls: [JSONValue])
        case tool(id: String, content: String)
    }

    private var systemTexts: [String] = []
    private var turns: [Turn] = []
    private var warnings: [String] = []
    private var toolNames: ToolNameMap
    private var pendingCalls = PendingToolCalls()
    private var usedIDs: Set<String> = []
    private var generatedIDCount = 0

    init(toolNames: ToolNameMap) {
        self.toolNames = toolNames
    }

    mutating func addSystem(_ texts: [String]) {
        systemTexts += texts.filter { !$0.isEmpty }
    }

    mutating func add(_ message: AnthropicInputMessage, at index: Int) {
        switch message.role {
        case .system:
            let texts = message.content.compactMap { block -> String? in
                if case .text(let text) = block { return text }
                return nil
            }
            if turns.isEmpty {
                systemTexts += texts
            } else {
                // Qwen templates reject a system message after others, and appending to the leading
                // system prompt would change the cached prefix: the text joins the user's turn.
                closePendingCalls()
                appendUser(parts: texts.map(Self.textPart))
            }
        case .assistant:
            closePendingCalls()
            addAssistant(message.content, at: index)
        case .user:
            addUser(message.content, at: index)
        }
    }

    private mutating func addAssistant(_ blocks: [AnthropicInputBlock], at index: Int) {
        var reasoning: [String] = []
        var texts: [String] = []
        var calls: [JSONValue] = []
        for (blockIndex, block) in blocks.enumerated() {
            switch block {
            case .text(let text):
                if !text.isEmpty { texts.append(text) }
            case .toolUse(let id, let name, let input):
                let backendID = uniqueID(for: id)
                pendingCalls.append(PendingToolCalls.Call(clientID: id, backendID: backendID))
                calls.append([
                    "id": .string(backendID),
                    "type": "function",
                    "function": ["name": .string(toolNames.backendName(for: name)), "arguments": .string(input.jsonString)],
                ])
            case .thinking(let text):
                if !text.isEmpty { reasoning.append(text) }
            case .redactedThinking:
                break
            case .image:
                warnings.append("messages.\(index).content.\(blockIndex): dropped an image in an assistant turn")
            case .toolResult:
                warnings.append("messages.\(index).content.\(blockIndex): dropped a tool_result in an assistant turn")
            case .unsupported(let type):
                warnings.append("messages.\(index).content.\(blockIndex): dropped unsupported block type '\(type)'")
            }
        }
        if case .assistant(var previousReasoning, var previousText, var previousCalls)? = turns.last {
            // Taken out of `turns` first, so the arrays grow in place: many assistant messages in a
            // row cost linear time, not quadratic.
            turns.removeLast()
            previousReasoning += reasoning
            previousText += texts
            previousCalls += calls
            turns.append(.assistant(reasoning: previousReasoning, text: previousText, toolCalls: previousCalls))
        } else if !texts.isEmpty || !calls.isEmpty {
            // Reasoning alone (no text, no call) makes no turn a template can render: it is dropped.
            turns.append(.assistant(reasoning: reasoning, text: texts, toolCalls: calls))
        }
    }

    private mutating func addUser(_ blocks: [AnthropicInputBlock], at index: Int) {
        var parts: [JSONValue] = []
        var resultImages: [JSONValue] = []
        var strayResults: [JSONValue] = []
        for (blockIndex, block) in blocks.enumerated() {
            switch block {
            case .text(let text):
                parts.append(Self.textPart(text))
            case .image(let source):
                parts.append(Self.imagePart(source))
            case .toolResult(let toolUseID, let content, let isError):
                var texts: [String] = []
                for part in content {
                    switch part {
                    case .text(let text): texts.append(text)
                    case .image(let source): resultImages.append(Self.imagePart(source))
                    }
                }
                var text = texts.joined(separator: "\n")
                if isError { text = text.isEmpty ? "Error" : RequestTranslator.errorResultPrefix + text }
                if let call = pendingCalls.answer(clientID: toolUseID) {
                    turns.append(.tool(id: call.backendID, content: text))
                } else {
                    warnings.append("messages.\(index).content.\(blockIndex): tool_result for unknown tool_use id '\(toolUseID)' sent as text")
                    strayResults.append(Self.textPart("Result of tool call \(toolUseID):\n\(text)"))
                }
            case .toolUse:
                warnings.append("messages.\(index).content.\(blockIndex): dropped a tool_use in a user turn")
            case .thinking, .redactedThinking:
                break
            case .unsupported(let type):
                warnings.append("messages.\(index).content.\(blockIndex): dropped unsupported block type '\(type)'")
            }
        }
        closePendingCalls()
        let allParts = strayResults + resultImages + parts
        if !allParts.isEmpty { appendUser(parts: allParts) }
    }

    /// Every tool call of the last assistant turn that got no result gets a placeholder, so the
    /// backend always sees calls and results paired.
    private mutating func closePendingCalls() {
        for call in pendingCalls.removeUnanswered() {
            turns.append(.tool(id: call.backendID, content: RequestTranslator.missingResultPlaceholder))
        }
    }

    private mutating func appendUser(parts: [JSONValue]) {
        if case .user(var previous)? = turns.last {
            turns.removeLast()  // as in addAssistant: grow the parts in place
            previous += parts
            turns.append(.user(parts: previous))
        } else {
            turns.append(.user(parts: parts))
        }
    }

    /// Keeps a client id when it is usable and new; otherwise makes one, so every call id is unique.
    private mutating func uniqueID(for clientID: String) -> String {
        var id = clientID
        while id.isEmpty || usedIDs.contains(id) {
            generatedIDCount += 1
            id = "toolu_bridge_\(generatedIDCount)"
        }
        usedIDs.insert(id)
        return id
    }

    static func textPart(_ text: String) -> JSONValue { ["type": "text", "text": .string(text)] }

    static func imagePart(_ source: AnthropicImageSource) -> JSONValue {
        ["type": "image_url", "image_url": ["url": .string(source.openAIURL)]]
    }

    mutating func finish() -> Result {
        var messages: [JSONValue] = []
        if !systemTexts.isEmpty {
            messages.append(["role": "system", "content": .string(systemTexts.joined(separator: "\n"))])
        }
        for turn in turns {
            switch turn {
            case .user(let parts):
                messages.append(["role": "user", "content": Self.userContent(parts)])
            case .assistant(let reasoning, let texts, let calls):
                var message: JSONObject = ["role": "assistant", "content": texts.isEmpty ? .null : .string(texts.joined(separator: "\n"))]
                if !calls.isEmpty { message["tool_calls"] = .array(calls) }
                if !reasoning.isEmpty {
                    // Qwen3 templates render an assistant turn's reasoning from `reasoning_content`
                    // (older vLLM and templates) or `reasoning` (vLLM after PR #33402): send both.
                    let text = JSONValue.string(reasoning.joined(separator: "\n"))
                    message["reasoning"] = text
                    message["reasoning_content"] = text
                }
                messages.append(.object(message))
            case .tool(let id, let content):
                messages.append(["role": "tool", "tool_call_id": .string(id), "content": .string(content)])
            }
        }
        var endsWithPrefill = false
        if case .assistant(_, let texts, let calls)? = turns.last, calls.isEmpty, !texts.isEmpty {
            endsWithPrefill = true
        }
        return Result(messages: messages, warnings: warnings, toolNames: toolNames, endsWithPrefill: endsWithPrefill)
    }

    /// Text-only content is one string (texts joined with a newline, as vLLM joins text parts);
    /// content with images stays a list of parts.
    static func userContent(_ parts: [JSONValue]) -> JSONValue {
        let texts = parts.compactMap { part -> String? in
            part["type"]?.stringValue == "text" ? part["text"]?.stringValue : nil
        }
        if texts.count == parts.count { return .string(texts.joined(separator: "\n")) }
        return .array(parts)
    }
}
