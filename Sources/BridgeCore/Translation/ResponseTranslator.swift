// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A whole OpenAI Chat Completions response → an Anthropic message.
///
/// The response is read as the one chunk that would carry all of it and run through
/// `StreamTranslator`, then the events are collected the way an Anthropic SDK accumulates a stream:
/// one translation, whether the client streams or not.
public enum ResponseTranslator {
    /// Translates a `chat.completion` body. An error body, or one with no choices, throws the
    /// Anthropic error a client should see.
    public static func translate(_ response: JSONValue, context: TranslationContext) throws(AnthropicError) -> AnthropicMessage {
        if let error = UpstreamErrorMapper.streamError(in: response) { throw error }
        guard let choices = response["choices"]?.arrayValue, !choices.isEmpty else {
            throw AnthropicError(.api, "The backend's response has no choices")
        }
        var translator = StreamTranslator(context: context)
        var accumulator = MessageAccumulator()
        for event in translator.consume(.chunk(ChatCompletionChunk(response: response))) + translator.consume(.done) {
            try accumulator.add(event)
        }
        guard let message = accumulator.message else { throw AnthropicError(.api, "The backend's response could not be translated") }
        return message
    }
}

/// Builds the final message from stream events, as the Anthropic SDKs do.
public struct MessageAccumulator: Sendable {
    private var snapshot: AnthropicMessage?
    private var partialJSON: [Int: String] = [:]

    public init() {}

    /// The message so far (complete after `message_stop`).
    public var message: AnthropicMessage? { snapshot }

    /// Applies one event; an `error` event throws its error.
    public mutating func add(_ event: AnthropicStreamEvent) throws(AnthropicError) {
        switch event {
        case .messageStart(let message):
            snapshot = message
        case .contentBlockStart(_, let block):
            snapshot?.content.append(block)
        case .contentBlockDelta(let index, let delta):
            // Blocks are changed in place in `snapshot`: copying the message out and back would copy
            // every block per event, quadratic in a response with thousands of blocks.
            guard let block = block(at: index) else { return }
            switch (block, delta) {
            case (.text(let text), .text(let more)):
                snapshot?.content[index] = .text(text + more)
            case (.thinking(let thinking, let signature), .thinking(let more)):
                snapshot?.content[index] = .thinking(thinking: thinking + more, signature: signature)
            case (.thinking(let thinking, _), .signature(let signature)):
                snapshot?.content[index] = .thinking(thinking: thinking, signature: signature)
            case (.toolUse, .inputJSON(let more)):
                partialJSON[index, default: ""] += more
            default:
                break
            }
        case .contentBlockStop(let index):
            guard case .toolUse(let id, let name, _)? = block(at: index) else { return }
            let text = partialJSON.removeValue(forKey: index) ?? ""
            let input = text.isEmpty ? JSONValue.object([:]) : ((try? JSONParser.parse(text)) ?? .object([ToolArgumentsScanner.invalidArgumentsKey: .string(text)]))
            snapshot?.content[index] = .toolUse(id: id, name: name, input: input)
        case .messageDelta(let stopReason, let stopSequence, let usage):
            snapshot?.stopReason = stopReason
            snapshot?.stopSequence = stopSequence
            snapshot?.usage = usage
        case .messageStop, .ping:
            break
        case .error(let error):
            throw error
        }
    }

    private func block(at index: Int) -> AnthropicResponseBlock? {
        guard let content = snapshot?.content, content.indices.contains(index) else { return nil }
        return content[index]
    }
}
