// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The numbers in vLLM's "maximum context length" errors, across its versions:
/// - `…is 2048 tokens. However, you requested 2723 tokens (1699 in the messages, 1024 in the completion)…`
/// - `…is 32768 tokens. However, you requested 39197 tokens in the messages, Please reduce…`
/// - `…is 3 tokens. However, your request has 8 input tokens…`
public struct ContextLengthOverflow: Sendable, Equatable {
    public var maximumContextLength: Int
    /// Tokens of the prompt alone, when the message says.
    public var promptTokens: Int?
    /// Prompt plus completion tokens asked for, when the message says.
    public var requestedTokens: Int?

    public init(maximumContextLength: Int, promptTokens: Int?, requestedTokens: Int?) {
        self.maximumContextLength = maximumContextLength
        self.promptTokens = promptTokens
        self.requestedTokens = requestedTokens
    }

    /// Reads a vLLM error message; `nil` when it is not a context-length error.
    public init?(message: String) {
        guard message.contains("maximum context length") else { return nil }
        guard let maximum = Self.number(after: "maximum context length is ", in: message) else { return nil }
        maximumContextLength = maximum
        if let requested = Self.number(after: "you requested ", in: message) {
            let splitsPromptAndCompletion = (message.contains("in the messages, ") && message.contains("in the completion"))
                || message.contains("in your prompt")
            if let prompt = Self.number(after: "(", in: message), splitsPromptAndCompletion {
                promptTokens = prompt
                requestedTokens = requested
            } else if message.contains("tokens in the messages") {
                promptTokens = requested
                requestedTokens = requested
            } else {
                promptTokens = nil
                requestedTokens = requested
            }
        } else if let input = Self.number(after: "your request has ", in: message) {
            promptTokens = input
            requestedTokens = nil
        } else {
            promptTokens = nil
            requestedTokens = nil
        }
    }

    /// The largest `max_tokens` that would fit next to the prompt, when the prompt itself fits.
    public var maxTokensThatFit: Int? {
        guard let promptTokens, promptTokens < maximumContextLength else { return nil }
        return maximumContextLength - promptTokens
    }

    /// The message Claude Code reacts to by compacting the conversation. With no prompt size in the
    /// backend's message, one token more than the window (saturating: the window is the backend's number).
    public var anthropicMessage: String {
        let tokens = promptTokens ?? requestedTokens ?? maximumContextLength.saturatingSuccessor
        return "prompt is too long: \(tokens) tokens > \(maximumContextLength) maximum"
    }

    /// The decimal number after `marker`: digits only, so never negative; nil when there are none or
    /// they do not fit in an `Int` (the message is then read as having no such number).
    private static func number(after marker: String, in text: String) -> Int? {
        guard let range = text.firstRange(of: marker) else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }
}

/// Backend failures → the Anthropic error a client should see.
public enum UpstreamErrorMapper {
    /// A failure to reach the backend at all (refused, timed out, reset, no healthy backend).
    public static func unreachable(_ detail: String) -> AnthropicError {
        AnthropicError(.overloaded, "The backend is unavailable: \(detail)")
    }

    /// An HTTP error answer of the backend. `context` names the alias and backend model in 404s.
    public static func map(status: Int, body: [UInt8], context: TranslationContext?) -> AnthropicError {
        let message = errorMessage(in: body) ?? "HTTP \(status) from the backend"
        switch status {
        case 400, 422:
            if let overflow = ContextLengthOverflow(message: message) {
                return AnthropicError(.invalidRequest, overflow.anthropicMessage)
            }
            return AnthropicError(.invalidRequest, message)
        case 404:
            if let context {
                return AnthropicError(.notFound, "model: \(context.clientModel) (backend model '\(context.backendModel)' is not served by the backend: \(message))")
            }
            return AnthropicError(.notFound, message)
        case 413:
            return AnthropicError(.requestTooLarge, message)
        case 429:
            return AnthropicError(.rateLimit, message)
        case 401, 403:
            // The client's key was accepted by the bridge; the bridge's key to the backend was not.
            return AnthropicError(.api, "The backend refused the bridge's credentials (HTTP \(status)): \(message)")
        case 500...:
            return AnthropicError(.overloaded, "The backend failed (HTTP \(status)): \(message)")
        default:
            return AnthropicError(.invalidRequest, message)
        }
    }

    /// The error carried by a stream chunk (`{"error":{…}}` or vLLM's older flat
    /// `{"object":"error",…}`), or `nil` for an ordinary chunk.
    static func streamError(in json: JSONValue) -> AnthropicError? {
        let error: JSONValue
        if let nested = json["error"], case .object = nested {
            error = nested
        } else if json["object"]?.stringValue == "error" {
            error = json
        } else {
            return nil
        }
        let message = error["message"]?.stringValue ?? "The backend reported an error"
        let code = error["code"]?.intValue ?? 500
        if code >= 500 || code < 400 { return AnthropicError(.overloaded, "The backend failed mid-stream: \(message)") }
        return map(status: code, body: json.jsonBytes, context: nil)
    }

    /// The `message` of an OpenAI/vLLM error body in either shape, or `nil` if the body has none.
    public static func errorMessage(in body: [UInt8]) -> String? {
        guard let json = try? JSONParser.parse(body) else {
            let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingWhitespace
            return text.isEmpty ? nil : text
        }
        if let message = json["error"]?["message"]?.stringValue { return message }
        if let message = json["error"]?.stringValue { return message }
        if let message = json["message"]?.stringValue { return message }
        if let detail = json["detail"]?.stringValue { return detail }
        return nil
    }
}

extension Int {
    /// `self + 1`, or `self` when that would overflow.
    var saturatingSuccessor: Int {
        let (next, overflow) = addingReportingOverflow(1)
        return overflow ? self : next
    }
}

extension StringProtocol {
    /// The text without white space at either end.
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
