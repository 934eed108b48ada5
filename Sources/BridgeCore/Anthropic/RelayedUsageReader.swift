// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Reads the token usage out of an Anthropic API answer the bridge relays untranslated, for the
/// request log: a whole message's `usage`, count_tokens' `input_tokens`, or a stream's `message_start`
/// usage updated by its `message_delta`s. The bytes are only looked at, never changed.
///
/// Bounded: a whole answer is kept up to ``maximumBodyBytes`` and a stream event up to
/// ``maximumEventBytes``; past either the usage is unknown (nil) and nothing more is kept.
public struct RelayedUsageReader: Sendable {
    /// Largest whole answer read for its usage.
    public static let maximumBodyBytes = 4 << 20
    /// Largest stream event read for its usage.
    public static let maximumEventBytes = 1 << 20

    private enum Mode {
        case whole([UInt8])
        case stream(SSEDecoder)
        /// Past a bound, or not JSON: the usage stays unknown.
        case gaveUp
    }

    private var mode: Mode
    private var usage: AnthropicUsage?

    /// A reader of an answer that is an SSE stream (`streams`) or one JSON document.
    public init(streams: Bool) {
        mode = streams ? .stream(SSEDecoder(maximumEventLength: Self.maximumEventBytes)) : .whole([])
    }

    /// Feeds relayed bytes, in order.
    public mutating func feed(_ bytes: [UInt8]) {
        switch mode {
        case .whole(var body):
            mode = .gaveUp
            guard body.count <= Self.maximumBodyBytes - bytes.count else { return }
            body.append(contentsOf: bytes)
            mode = .whole(body)
        case .stream(var decoder):
            mode = .gaveUp
            guard let payloads = try? decoder.feed(bytes) else { return }
            for payload in payloads { readEvent(payload) }
            mode = .stream(decoder)
        case .gaveUp:
            break
        }
    }

    /// The usage of the whole answer, once all of it is fed; nil when it reported none (or was too large).
    public mutating func finish() -> AnthropicUsage? {
        switch mode {
        case .whole(let body):
            mode = .gaveUp
            guard case .object(let answer)? = try? JSONParser.parse(body) else { return nil }
            if case .object(let usage)? = answer["usage"] { return Self.usage(usage) }
            if answer["input_tokens"] != nil { return AnthropicUsage(inputTokens: ChatCompletionChunk.Usage.tokens(answer["input_tokens"])) }
            return nil
        case .stream(var decoder):
            mode = .gaveUp
            if let last = decoder.finish() { readEvent(last) }
            return usage
        case .gaveUp:
            return usage
        }
    }

    /// `message_start` sets the usage; each `message_delta` replaces the counts it carries (its
    /// `output_tokens` is the running total). Other events are not parsed.
    private mutating func readEvent(_ payload: [UInt8]) {
        let head = payload.prefix(64)
        let isStart = head.contains(subsequence: Self.messageStart)
        guard isStart || head.contains(subsequence: Self.messageDelta) else { return }
        guard case .object(let event)? = try? JSONParser.parse(payload) else { return }
        switch event["type"]?.stringValue {
        case "message_start":
            guard case .object(let usage)? = event["message"]?["usage"] else { return }
            self.usage = Self.usage(usage)
        case "message_delta":
            guard case .object(let delta)? = event["usage"] else { return }
            var usage = self.usage ?? AnthropicUsage()
            if delta["input_tokens"] != nil { usage.inputTokens = ChatCompletionChunk.Usage.tokens(delta["input_tokens"]) }
            if delta["output_tokens"] != nil { usage.outputTokens = ChatCompletionChunk.Usage.tokens(delta["output_tokens"]) }
            if delta["cache_creation_input_tokens"] != nil {
                usage.cacheCreationInputTokens = ChatCompletionChunk.Usage.tokens(delta["cache_creation_input_tokens"])
            }
            if delta["cache_read_input_tokens"] != nil { usage.cacheReadInputTokens = ChatCompletionChunk.Usage.tokens(delta["cache_read_input_tokens"]) }
            self.usage = usage
        default:
            break
        }
    }

    private static let messageStart = Array("\"message_start\"".utf8)
    private static let messageDelta = Array("\"message_delta\"".utf8)

    private static func usage(_ object: JSONObject) -> AnthropicUsage {
        AnthropicUsage(
            inputTokens: ChatCompletionChunk.Usage.tokens(object["input_tokens"]),
            outputTokens: ChatCompletionChunk.Usage.tokens(object["output_tokens"]),
            cacheCreationInputTokens: ChatCompletionChunk.Usage.tokens(object["cache_creation_input_tokens"]),
            cacheReadInputTokens: ChatCompletionChunk.Usage.tokens(object["cache_read_input_tokens"])
        )
    }
}

extension Collection where Element == UInt8 {
    /// Whether `needle` occurs in these bytes (a short look over a short prefix).
    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        let bytes = Array(self)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
