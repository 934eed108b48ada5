// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// What the response translation needs to know about the request it answers.
public struct TranslationContext: Sendable, Equatable {
    /// The model name the client asked for; every response carries it.
    public var clientModel: String
    /// The backend model id the request was sent with.
    public var backendModel: String
    public var toolNames: ToolNameMap
    /// Each offered tool's input schema by backend name, to type the values of Qwen XML tool calls.
    public var toolSchemas: [String: JSONValue]
    public var stopSequences: [String]
    public var thinking: AnthropicThinking?
    /// When the request ends with an assistant turn the answer continues it: keep its leading spaces.
    public var continuesPrefill: Bool
    /// Recover `<tool_call>` / `<think>` markup left in plain content by a backend run without parsers.
    public var rescuesQwenMarkup: Bool
    /// Used as the message id when the backend gives none.
    public var fallbackMessageID: String
    /// The prompt size `message_start` reports when the backend's first chunk carries no usage.
    public var estimatedPromptTokens: Int?

    public init(
        clientModel: String,
        backendModel: String,
        toolNames: ToolNameMap = ToolNameMap(),
        toolSchemas: [String: JSONValue] = [:],
        stopSequences: [String] = [],
        thinking: AnthropicThinking? = nil,
        continuesPrefill: Bool = false,
        rescuesQwenMarkup: Bool = true,
        fallbackMessageID: String = "msg_bridge",
        estimatedPromptTokens: Int? = nil
    ) {
        self.clientModel = clientModel
        self.backendModel = backendModel
        self.toolNames = toolNames
        self.toolSchemas = toolSchemas
        self.stopSequences = stopSequences
        self.thinking = thinking
        self.continuesPrefill = continuesPrefill
        self.rescuesQwenMarkup = rescuesQwenMarkup
        self.fallbackMessageID = fallbackMessageID
        self.estimatedPromptTokens = estimatedPromptTokens
    }

    /// Reasoning is shown as text when the client turned thinking off: a backend that thinks anyway
    /// (or, like vLLM 0.8 with `enable_thinking: false`, files the whole answer as reasoning) must not
    /// lose the answer.
    var reasoningIsText: Bool { thinking == .disabled }
}
