// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Counts prompt tokens deterministically, without a tokenizer, and makes up matching token ids.
///
/// The rule (the same for `/v1/chat/completions` usage and context checks and for `/tokenize`):
/// - each message costs `3 + ceil(b / 4)` tokens, where `b` is the UTF-8 byte count of its text: the
///   `content` string, or the `text` of every text part, plus each assistant tool call's
///   `function.name` and `function.arguments`; every non-text content part (an image, audio) adds a
///   flat 256 tokens;
/// - the `tools` array, when present and non-empty, costs `ceil(b / 4)` where `b` is the length of its
///   compact JSON;
/// - a plain prompt (`/tokenize` completion form) costs `ceil(b / 4)`.
/// The ids are `<|im_start|>` (151644), one id per 4-byte slice of text (an FNV-1a hash below 151643),
/// `<|im_end|>` (151645) and `\n` (198) per message, and `<|image_pad|>` (151655) for media parts.
public enum PromptTokenEstimator {
    /// Tokens charged for one image/audio/file content part.
    public static let mediaPartTokens = 256

    /// The token count of a chat prompt.
    public static func count(messages: [JSONValue], tools: [JSONValue]?) -> Int {
        var total = 0
        for message in messages {
            let (bytes, media) = textBytes(of: message)
            total += 3 + ceilDiv(bytes.count, 4) + media * mediaPartTokens
        }
        if let tools, !tools.isEmpty { total += ceilDiv(JSONValue.array(tools).jsonBytes.count, 4) }
        return total
    }

    /// The token count of a plain prompt.
    public static func count(prompt: String) -> Int { ceilDiv(prompt.utf8.count, 4) }

    /// Token ids for a chat prompt; `count` of them.
    public static func tokenIDs(messages: [JSONValue], tools: [JSONValue]?) -> [Int] {
        var ids: [Int] = []
        for message in messages {
            let (bytes, media) = textBytes(of: message)
            ids.append(151644)
            appendSliceIDs(bytes, to: &ids)
            ids.append(contentsOf: repeatElement(151655, count: media * mediaPartTokens))
            ids.append(151645)
            ids.append(198)
        }
        if let tools, !tools.isEmpty { appendSliceIDs(JSONValue.array(tools).jsonBytes, to: &ids) }
        return ids
    }

    /// Token ids for a plain prompt.
    public static func tokenIDs(prompt: String) -> [Int] {
        var ids: [Int] = []
        appendSliceIDs(Array(prompt.utf8), to: &ids)
        return ids
    }

    /// The text each id of ``tokenIDs(messages:tools:)`` stands for (for `return_token_strs`).
    public static func tokenStrings(messages: [JSONValue], tools: [JSONValue]?) -> [String] {
        var strings: [String] = []
        for message in messages {
            let (bytes, media) = textBytes(of: message)
            strings.append("<|im_start|>")
            appendSliceStrings(bytes, to: &strings)
            strings.append(contentsOf: repeatElement("<|image_pad|>", count: media * mediaPartTokens))
            strings.append("<|im_end|>")
            strings.append("\n")
        }
        if let tools, !tools.isEmpty { appendSliceStrings(JSONValue.array(tools).jsonBytes, to: &strings) }
        return strings
    }

    /// The text each id of ``tokenIDs(prompt:)`` stands for.
    public static func tokenStrings(prompt: String) -> [String] {
        var strings: [String] = []
        appendSliceStrings(Array(prompt.utf8), to: &strings)
        return strings
    }

    /// The UTF-8 text of a message that counts towards its tokens, and its number of media parts.
    static func textBytes(of message: JSONValue) -> (bytes: [UInt8], mediaParts: Int) {
        var bytes: [UInt8] = []
        var media = 0
        switch message["content"] {
        case .string(let text)?:
            bytes.append(contentsOf: text.utf8)
        case .array(let parts)?:
            for part in parts {
                if let text = part["text"]?.stringValue, part["type"]?.stringValue ?? "text" == "text" {
                    bytes.append(contentsOf: text.utf8)
                } else {
                    media += 1
                }
            }
        default:
            break
        }
        for call in message["tool_calls"]?.arrayValue ?? [] {
            if let name = call["function"]?["name"]?.stringValue { bytes.append(contentsOf: name.utf8) }
            if let arguments = call["function"]?["arguments"]?.stringValue { bytes.append(contentsOf: arguments.utf8) }
        }
        return (bytes, media)
    }

    private static func ceilDiv(_ value: Int, _ divisor: Int) -> Int { (value + divisor - 1) / divisor }

    private static func appendSliceIDs(_ bytes: [UInt8], to ids: inout [Int]) {
        var start = 0
        while start < bytes.count {
            var hash: UInt32 = 2_166_136_261
            for byte in bytes[start..<min(start + 4, bytes.count)] {
                hash = (hash ^ UInt32(byte)) &* 16_777_619
            }
            ids.append(Int(hash % 151_643))
            start += 4
        }
    }

    private static func appendSliceStrings(_ bytes: [UInt8], to strings: inout [String]) {
        var start = 0
        while start < bytes.count {
            strings.append(String(decoding: bytes[start..<min(start + 4, bytes.count)], as: UTF8.self))
            start += 4
        }
    }
}
