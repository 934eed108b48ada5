// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

extension ChatCompletionChunk {
    /// Reads a streamed chunk of the shape vLLM sends for (almost) every token straight from its bytes,
    /// without building a JSON tree: the envelope (`id`, `object`, `created`, `model`, `usage`,
    /// `prompt_token_ids`, `system_fingerprint`), at most one choice of index 0 (`delta` with `role`,
    /// `content`, `reasoning`, `reasoning_content`, `refusal`, `tool_calls`; `logprobs`, `finish_reason`,
    /// `stop_reason`, `token_ids`), compact, with strings whose escapes are the one-letter ones and
    /// numbers that are plain integers (at most 18 digits).
    ///
    /// `nil` for anything else (another member, whitespace, a `\u` escape, a repeated key, an error
    /// object, invalid JSON or UTF-8): ``UpstreamStreamItem/init(data:)`` then reads the chunk through
    /// the tree. When it gives a chunk, that chunk equals what the tree reading gives
    /// (``UpstreamStreamItem/init(treeData:)``); tests and the `fuzz-stream` target hold it to that.
    public init?(commonChunkBytes bytes: [UInt8]) {
        let chunk = bytes.withUnsafeBufferPointer { buffer in
            var reader = ChunkBytesReader(bytes: buffer)
            return reader.document()
        }
        guard let chunk else { return nil }
        self = chunk
    }
}

/// The byte reader behind ``ChatCompletionChunk/init(commonChunkBytes:)``. Every function returns
/// `nil` (or `false`) as soon as the input leaves the common shape; it never throws and reads each
/// byte at most once.
struct ChunkBytesReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    /// Digits of the longest integer read: any 18-digit number fits in `Int`.
    static let maximumIntegerDigits = 18

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The whole input as one chunk object, nothing after it.
    mutating func document() -> ChatCompletionChunk? {
        var chunk = ChatCompletionChunk()
        var seen = SeenKeys()
        var members = 0
        guard take(UInt8(ascii: "{")) else { return nil }
        while let next = nextMember(&members) {
            guard case .key(let key) = next else {
                return index == bytes.count ? chunk : nil
            }
            if key.equals("id") {
                guard seen.first(0), optionalString(&chunk.id) else { return nil }
            } else if key.equals("object") {
                // An `"object":"error"` body is an error the tree reading maps.
                guard seen.first(1), let object = string(), object != "error" else { return nil }
            } else if key.equals("created") {
                guard seen.first(2), integer() != nil else { return nil }
            } else if key.equals("model") {
                guard seen.first(3), string() != nil else { return nil }
            } else if key.equals("choices") {
                guard seen.first(4), choices(into: &chunk) else { return nil }
            } else if key.equals("usage") {
                guard seen.first(5) else { return nil }
                if !literalNull() {
                    guard let usage = usage() else { return nil }
                    chunk.usage = usage
                }
            } else if key.equals("prompt_token_ids") {
                guard seen.first(6), literalNull() else { return nil }
            } else if key.equals("system_fingerprint") {
                var ignored: String?
                guard seen.first(7), optionalString(&ignored) else { return nil }
            } else {
                return nil
            }
        }
        return nil
    }

    /// `[]` or `[choice]` with the choice's index 0.
    mutating func choices(into chunk: inout ChatCompletionChunk) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        if take(UInt8(ascii: "]")) { return true }
        guard choice(into: &chunk) else { return false }
        return take(UInt8(ascii: "]"))
    }

    mutating func choice(into chunk: inout ChatCompletionChunk) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = SeenKeys()
        var members = 0
        while let next = nextMember(&members) {
            guard case .key(let key) = next else { return true }
            if key.equals("index") {
                guard seen.first(0), integer() == 0 else { return false }
            } else if key.equals("delta") {
                guard seen.first(1), delta(into: &chunk) else { return false }
            } else if key.equals("logprobs") {
                guard seen.first(2), literalNull() else { return false }
            } else if key.equals("finish_reason") {
                guard seen.first(3), optionalString(&chunk.finishReason) else { return false }
            } else if key.equals("stop_reason") {
                guard seen.first(4) else { return false }
                if literalNull() { continue }
                if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                    guard let stop = string() else { return false }
                    chunk.stopReason = .string(stop)
                } else {
                    let start = index
                    guard integer() != nil else { return false }
                    chunk.stopReason = .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                }
            } else if key.equals("token_ids") {
                guard seen.first(5), literalNull() else { return false }
            } else {
                return false
            }
        }
        return false
    }

    /// The delta object: `reasoning` wins over `reasoning_content`, as in the tree reading.
    mutating func delta(into chunk: inout ChatCompletionChunk) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = SeenKeys()
        var members = 0
        var reasoning: String?
        var reasoningContent: String?
        var ignored: String?
        while let next = nextMember(&members) {
            guard case .key(let key) = next else {
                chunk.reasoning = reasoning ?? reasoningContent
                return true
            }
            if key.equals("content") {
                guard seen.first(0), optionalString(&chunk.content) else { return false }
            } else if key.equals("reasoning") {
                guard seen.first(1), optionalString(&reasoning) else { return false }
            } else if key.equals("reasoning_content") {
                guard seen.first(2), optionalString(&reasoningContent) else { return false }
            } else if key.equals("role") {
                guard seen.first(3), optionalString(&ignored) else { return false }
            } else if key.equals("refusal") {
                guard seen.first(4), optionalString(&ignored) else { return false }
            } else if key.equals("tool_calls") {
                guard seen.first(5) else { return false }
                if literalNull() { continue }
                guard toolCalls(into: &chunk.toolCalls) else { return false }
            } else {
                return false
            }
        }
        return false
    }

    /// `[call, …]`; a call without `index` takes its position, as in the tree reading.
    mutating func toolCalls(into calls: inout [ChatCompletionChunk.ToolCallDelta]) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        if take(UInt8(ascii: "]")) { return true }
        while true {
            guard let call = toolCall(position: calls.count) else { return false }
            calls.append(call)
            if take(UInt8(ascii: "]")) { return true }
            guard take(UInt8(ascii: ",")) else { return false }
        }
    }

    mutating func toolCall(position: Int) -> ChatCompletionChunk.ToolCallDelta? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var call = ChatCompletionChunk.ToolCallDelta(index: position)
        var seen = SeenKeys()
        var members = 0
        var ignored: String?
        while let next = nextMember(&members) {
            guard case .key(let key) = next else { return call }
            if key.equals("index") {
                guard seen.first(0), let callIndex = integer() else { return nil }
                call.index = callIndex
            } else if key.equals("id") {
                guard seen.first(1), optionalString(&call.id) else { return nil }
            } else if key.equals("type") {
                guard seen.first(2), optionalString(&ignored) else { return nil }
            } else if key.equals("function") {
                guard seen.first(3), function(into: &call) else { return nil }
            } else {
                return nil
            }
        }
        return nil
    }

    mutating func function(into call: inout ChatCompletionChunk.ToolCallDelta) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = SeenKeys()
        var members = 0
        while let next = nextMember(&members) {
            guard case .key(let key) = next else { return true }
            if key.equals("name") {
                guard seen.first(0), optionalString(&call.name) else { return false }
            } else if key.equals("arguments") {
                guard seen.first(1), optionalString(&call.arguments) else { return false }
            } else {
                return false
            }
        }
        return false
    }

    /// The usage object, counts clamped as ``ChatCompletionChunk/Usage/tokens(_:)`` clamps them.
    mutating func usage() -> ChatCompletionChunk.Usage? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var usage = ChatCompletionChunk.Usage(promptTokens: 0, completionTokens: 0)
        var seen = SeenKeys()
        var members = 0
        while let next = nextMember(&members) {
            guard case .key(let key) = next else { return usage }
            if key.equals("prompt_tokens") {
                guard seen.first(0), let count = integer() else { return nil }
                usage.promptTokens = Self.clamped(count)
            } else if key.equals("completion_tokens") {
                guard seen.first(1), let count = integer() else { return nil }
                usage.completionTokens = Self.clamped(count)
            } else if key.equals("total_tokens") {
                guard seen.first(2), integer() != nil else { return nil }
            } else if key.equals("prompt_tokens_details") {
                guard seen.first(3) else { return nil }
                if literalNull() { continue }
                guard let cached = promptTokensDetails() else { return nil }
                usage.cachedTokens = cached
            } else {
                return nil
            }
        }
        return nil
    }

    /// `{"cached_tokens":N}` (or `{}`, which counts 0).
    mutating func promptTokensDetails() -> Int? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var cached = 0
        var seen = SeenKeys()
        var members = 0
        while let next = nextMember(&members) {
            guard case .key(let key) = next else { return cached }
            guard key.equals("cached_tokens"), seen.first(0), let count = integer() else { return nil }
            cached = Self.clamped(count)
        }
        return nil
    }

    static func clamped(_ count: Int) -> Int {
        min(max(count, 0), ChatCompletionChunk.Usage.maximumTokens)
    }

    // MARK: Tokens

    enum Member {
        case key(UnsafeBufferPointer<UInt8>)
        case end
    }

    /// Inside an object whose `{` is read, after `count` members: the next key (its `:` read) or the
    /// closing `}` (read); `nil` when neither follows.
    mutating func nextMember(_ count: inout Int) -> Member? {
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .end
        }
        if count > 0 {
            guard take(UInt8(ascii: ",")) else { return nil }
        }
        count += 1
        guard let key = rawKey(), take(UInt8(ascii: ":")) else { return nil }
        return .key(key)
    }

    /// A key's bytes between its quotes; `nil` for a key with an escape (it may spell a known key).
    mutating func rawKey() -> UnsafeBufferPointer<UInt8>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            index += 1
        }
        return nil
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Reads `null` when it is next.
    mutating func literalNull() -> Bool {
        guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
            bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
        else { return false }
        index += 4
        return true
    }

    /// `null` (as `nil`) or a string.
    mutating func optionalString(_ value: inout String?) -> Bool {
        if literalNull() {
            value = nil
            return true
        }
        guard let string = string() else { return false }
        value = string
        return true
    }

    /// A string value, decoded as `JSONParser` decodes it; `nil` for a `\u` escape, a control
    /// character, invalid UTF-8 or no closing quote.
    mutating func string() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        var bits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return bits < 0x80 ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            bits |= byte
            index += 1
        }
        return nil
    }

    /// The rest of a string from its first backslash (at `index`); `start` is its first byte.
    mutating func escapedString(from start: Int) -> String? {
        var text = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): text.append(0x22)
                case UInt8(ascii: "\\"): text.append(0x5C)
                case UInt8(ascii: "/"): text.append(0x2F)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                default: return nil
                }
            default:
                if byte < 0x20 { return nil }
                text.append(byte)
            }
        }
        return nil
    }

    /// A plain integer (`-?(0|[1-9][0-9]*)`, at most 18 digits) followed by `,`, `}` or `]`. `nil` for
    /// fractions, exponents, longer numbers or anything else.
    mutating func integer() -> Int? {
        let negative = take(UInt8(ascii: "-"))
        let digitsStart = index
        var value = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            guard index - digitsStart < Self.maximumIntegerDigits else { return nil }
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - digitsStart
        guard digits > 0, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0"), index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"): break
        default: return nil
        }
        return negative ? -value : value
    }
}

/// Which of an object's known keys were read, so a repeated key (which the tree reading resolves to its
/// first occurrence) leaves the fast path.
struct SeenKeys {
    private var bits: UInt16 = 0

    /// Marks key number `slot` seen; `false` when it already was.
    mutating func first(_ slot: Int) -> Bool {
        let bit: UInt16 = 1 << slot
        guard bits & bit == 0 else { return false }
        bits |= bit
        return true
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes spell `key`.
    func equals(_ key: StaticString) -> Bool {
        guard count == key.utf8CodeUnitCount else { return false }
        let expected = key.utf8Start
        for offset in 0..<count where self[offset] != expected[offset] { return false }
        return true
    }
}
