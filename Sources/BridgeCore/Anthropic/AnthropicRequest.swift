// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A Messages API (or count_tokens) request, validated.
///
/// Only what the translation uses is kept; every other field (`metadata`, `context_management`,
/// `service_tier`, `container`, `mcp_servers`, `cache_control`, anything unknown) is dropped here and
/// never forwarded. Wrong types and missing required fields throw an `invalid_request_error` that names
/// the field, e.g. `messages.1.content.0.tool_use_id: Field required`.
public struct AnthropicRequest: Sendable, Equatable {
    /// Which endpoint the body was sent to: count_tokens has no `max_tokens`.
    public enum Endpoint: Sendable { case messages, countTokens }

    public var model: String
    public var maxTokens: Int?
    public var system: [String]
    public var messages: [AnthropicInputMessage]
    public var stopSequences: [String]
    public var stream: Bool
    /// Sampling numbers are kept as written (`1.0` stays `1.0`).
    public var temperature: JSONValue?
    public var topP: JSONValue?
    public var topK: JSONValue?
    public var tools: [AnthropicTool]
    public var toolChoice: AnthropicToolChoice?
    public var thinking: AnthropicThinking?

    /// Validates a decoded JSON body.
    public init(json: JSONValue, endpoint: Endpoint = .messages) throws(AnthropicError) {
        let body = try FieldReader.object(json, at: "")
        model = try FieldReader.requiredString(body, "model", at: "")
        if endpoint == .messages {
            let maxTokens = try FieldReader.requiredInt(body, "max_tokens", at: "")
            guard maxTokens >= 1 else { throw FieldReader.invalid("max_tokens", "Input should be greater than or equal to 1") }
            self.maxTokens = maxTokens
        } else {
            maxTokens = nil
        }
        system = try Self.readSystem(body["system"])
        let rawMessages = try FieldReader.requiredArray(body, "messages", at: "")
        messages = try rawMessages.enumerated().map { index, value throws(AnthropicError) in
            try AnthropicInputMessage(json: value, at: "messages.\(index)")
        }
        stopSequences = try FieldReader.optionalStringArray(body, "stop_sequences", at: "") ?? []
        stream = endpoint == .messages ? (try FieldReader.optionalBool(body, "stream", at: "") ?? false) : false
        temperature = try FieldReader.optionalNumber(body, "temperature", at: "")
        topP = try FieldReader.optionalNumber(body, "top_p", at: "")
        topK = try FieldReader.optionalNumber(body, "top_k", at: "")
        let rawTools = try FieldReader.optionalArray(body, "tools", at: "") ?? []
        tools = try rawTools.enumerated().map { index, value throws(AnthropicError) in
            try AnthropicTool(json: value, at: "tools.\(index)")
        }
        toolChoice = try body["tool_choice"].flatMap { value throws(AnthropicError) in
            value.isNull ? nil : try AnthropicToolChoice(json: value, at: "tool_choice")
        }
        thinking = try body["thinking"].flatMap { value throws(AnthropicError) in
            value.isNull ? nil : try AnthropicThinking(json: value, at: "thinking")
        }
    }

    private static func readSystem(_ value: JSONValue?) throws(AnthropicError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return [text]
        case .array(let blocks)?:
            return try blocks.enumerated().map { index, block throws(AnthropicError) in
                let object = try FieldReader.object(block, at: "system.\(index)")
                return try FieldReader.requiredString(object, "text", at: "system.\(index)")
            }
        case let other?:
            throw FieldReader.invalid("system", "Input should be a valid string or list of text blocks, got \(other.typeName)")
        }
    }
}

/// `thinking` of a request.
public enum AnthropicThinking: Sendable, Equatable {
    case enabled(budgetTokens: Int?)
    case disabled
    /// The model decides (newer API); treated as enabled.
    case adaptive

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        switch try FieldReader.requiredString(object, "type", at: path) {
        case "enabled": self = .enabled(budgetTokens: try FieldReader.optionalInt(object, "budget_tokens", at: path))
        case "disabled": self = .disabled
        case "adaptive": self = .adaptive
        case let other: throw FieldReader.invalid("\(path).type", "Input tag '\(other)' does not match 'enabled', 'disabled' or 'adaptive'")
        }
    }

    /// Whether the backend's chat template should think.
    public var enablesThinking: Bool {
        if case .disabled = self { return false }
        return true
    }
}

/// `tool_choice` of a request.
public struct AnthropicToolChoice: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case auto, any, none
        case tool(name: String)
    }

    public var mode: Mode
    public var disableParallelToolUse: Bool

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        switch try FieldReader.requiredString(object, "type", at: path) {
        case "auto": mode = .auto
        case "any": mode = .any
        case "none": mode = .none
        case "tool": mode = .tool(name: try FieldReader.requiredString(object, "name", at: path))
        case let other:
            throw FieldReader.invalid("\(path).type", "Input tag '\(other)' does not match 'auto', 'any', 'tool' or 'none'")
        }
        disableParallelToolUse = try FieldReader.optionalBool(object, "disable_parallel_tool_use", at: path) ?? false
    }
}

/// A tool the client offers.
public enum AnthropicTool: Sendable, Equatable {
    /// A client-side tool: the model asks, the client runs it.
    case custom(name: String, description: String?, inputSchema: JSONValue)
    /// An Anthropic server tool (`web_search_…`, `bash_…`, `text_editor_…`, …) that only Anthropic can run.
    case server(type: String, name: String?)

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        let type = try FieldReader.optionalString(object, "type", at: path)
        if let type, type != "custom" {
            self = .server(type: type, name: try FieldReader.optionalString(object, "name", at: path))
            return
        }
        let name = try FieldReader.requiredString(object, "name", at: path)
        guard let schema = object["input_schema"] else { throw FieldReader.invalid("\(path).input_schema", "Field required") }
        guard case .object = schema else {
            throw FieldReader.invalid("\(path).input_schema", "Input should be an object, got \(schema.typeName)")
        }
        self = .custom(name: name, description: try FieldReader.optionalString(object, "description", at: path), inputSchema: schema)
    }
}

/// One turn of the conversation.
public struct AnthropicInputMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case user, assistant
        /// Newer clients send `system` (or `developer`) turns mid-conversation.
        case system
    }

    public var role: Role
    public var content: [AnthropicInputBlock]

    public init(role: Role, content: [AnthropicInputBlock]) {
        self.role = role
        self.content = content
    }

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        let roleName = try FieldReader.requiredString(object, "role", at: path)
        switch roleName {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system", "developer": role = .system
        default: throw FieldReader.invalid("\(path).role", "Input should be 'user' or 'assistant'")
        }
        switch object["content"] {
        case nil: throw FieldReader.invalid("\(path).content", "Field required")
        case .string(let text)?: content = [.text(text)]
        case .array(let blocks)?:
            content = try blocks.enumerated().map { index, block throws(AnthropicError) in
                try AnthropicInputBlock(json: block, at: "\(path).content.\(index)")
            }
        case let other?:
            throw FieldReader.invalid("\(path).content", "Input should be a valid string or list of content blocks, got \(other.typeName)")
        }
    }
}

/// An image's source.
public enum AnthropicImageSource: Sendable, Equatable {
    case base64(mediaType: String, data: String)
    case url(String)

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        switch try FieldReader.requiredString(object, "type", at: path) {
        case "base64":
            self = .base64(
                mediaType: try FieldReader.requiredString(object, "media_type", at: path),
                data: try FieldReader.requiredString(object, "data", at: path)
            )
        case "url": self = .url(try FieldReader.requiredString(object, "url", at: path))
        case let other: throw FieldReader.invalid("\(path).type", "Image source type '\(other)' is not supported (use 'base64' or 'url')")
        }
    }

    /// The `image_url.url` OpenAI expects: a `data:` URL for inline images.
    public var openAIURL: String {
        switch self {
        case .base64(let mediaType, let data): "data:\(mediaType);base64,\(data)"
        case .url(let url): url
        }
    }
}

/// A content block of an input message.
public enum AnthropicInputBlock: Sendable, Equatable {
    case text(String)
    case image(AnthropicImageSource)
    case toolUse(id: String, name: String, input: JSONValue)
    case toolResult(toolUseID: String, content: [AnthropicToolResultPart], isError: Bool)
    /// `thinking`: the reasoning text (its signature is ignored); replayed to the backend on assistant turns.
    case thinking(String)
    /// `redacted_thinking`: encrypted reasoning no local model can read; dropped.
    case redactedThinking
    /// A block type the bridge does not know; dropped with a warning.
    case unsupported(type: String)

    init(json: JSONValue, at path: String) throws(AnthropicError) {
        let object = try FieldReader.object(json, at: path)
        let type = try FieldReader.requiredString(object, "type", at: path)
        switch type {
        case "text":
            self = .text(try FieldReader.requiredString(object, "text", at: path))
        case "image":
            guard let source = object["source"] else { throw FieldReader.invalid("\(path).source", "Field required") }
            self = .image(try AnthropicImageSource(json: source, at: "\(path).source"))
        case "document":
            self = .text(try Self.documentText(object, at: path))
        case "tool_use":
            let id = try FieldReader.requiredString(object, "id", at: path)
            let name = try FieldReader.requiredString(object, "name", at: path)
            let input = object["input"] ?? .object([:])
            guard case .object = input else { throw FieldReader.invalid("\(path).input", "Input should be an object") }
            self = .toolUse(id: id, name: name, input: input)
        case "tool_result":
            let id = try FieldReader.requiredString(object, "tool_use_id", at: path)
            let isError = try FieldReader.optionalBool(object, "is_error", at: path) ?? false
            self = .toolResult(toolUseID: id, content: try AnthropicToolResultPart.parts(object["content"], at: "\(path).content"), isError: isError)
        case "thinking":
            self = .thinking(object["thinking"]?.stringValue ?? "")
        case "redacted_thinking":
            self = .redactedThinking
        case "mid_conv_system":
            self = .text(try FieldReader.requiredString(object, "text", at: path))
        default:
            self = .unsupported(type: type)
        }
    }

    /// A document becomes text when its source is text; PDF (or a URL we cannot fetch) is refused.
    static func documentText(_ object: JSONObject, at path: String) throws(AnthropicError) -> String {
        guard let source = object["source"] else { throw FieldReader.invalid("\(path).source", "Field required") }
        let sourceObject = try FieldReader.object(source, at: "\(path).source")
        let body: String
        switch try FieldReader.requiredString(sourceObject, "type", at: "\(path).source") {
        case "text":
            body = try FieldReader.requiredString(sourceObject, "data", at: "\(path).source")
        case "content":
            switch sourceObject["content"] {
            case .string(let text)?: body = text
            case .array(let blocks)?:
                body = blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            default: throw FieldReader.invalid("\(path).source.content", "Field required")
            }
        case "base64" where sourceObject["media_type"]?.stringValue == "text/plain":
            body = try FieldReader.requiredString(sourceObject, "data", at: "\(path).source")
        case let kind:
            let what = kind == "base64" ? "PDF documents" : "documents with a '\(kind)' source"
            throw FieldReader.invalid("\(path).source", "\(what) are not supported by this backend; send the document as text")
        }
        if let title = try FieldReader.optionalString(object, "title", at: path), !title.isEmpty {
            return "\(title)\n\n\(body)"
        }
        return body
    }
}

/// One part of a `tool_result`'s content.
public enum AnthropicToolResultPart: Sendable, Equatable {
    case text(String)
    case image(AnthropicImageSource)

    static func parts(_ value: JSONValue?, at path: String) throws(AnthropicError) -> [AnthropicToolResultPart] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return [.text(text)]
        case .array(let blocks)?:
            var parts: [AnthropicToolResultPart] = []
            for (index, block) in blocks.enumerated() {
                let blockPath = "\(path).\(index)"
                let object = try FieldReader.object(block, at: blockPath)
                switch try FieldReader.requiredString(object, "type", at: blockPath) {
                case "text": parts.append(.text(try FieldReader.requiredString(object, "text", at: blockPath)))
                case "image":
                    guard let source = object["source"] else { throw FieldReader.invalid("\(blockPath).source", "Field required") }
                    parts.append(.image(try AnthropicImageSource(json: source, at: "\(blockPath).source")))
                case "document": parts.append(.text(try AnthropicInputBlock.documentText(object, at: blockPath)))
                default:
                    if let text = object["text"]?.stringValue { parts.append(.text(text)) }
                }
            }
            return parts
        case let other?:
            throw FieldReader.invalid(path, "Input should be a valid string or list of content blocks, got \(other.typeName)")
        }
    }
}
