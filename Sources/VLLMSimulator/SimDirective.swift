// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// One scripted tool call: the name and the arguments object, emitted qwen3_coder style.
public struct ScriptedToolCall: Sendable, Equatable {
    /// The function name.
    public var name: String
    /// The arguments; each member becomes one streamed parameter fragment, in order.
    public var arguments: JSONObject
}

/// An HTTP error to answer with instead of generating.
public struct ScriptedError: Sendable, Equatable {
    /// The HTTP status (also the body's `code`).
    public var status: Int
    /// The error message.
    public var message: String
    /// The error type; `nil` uses vLLM's name for the status.
    public var type: String?
    /// The `param` member.
    public var param: JSONValue
}

/// Text scripted either as one string (split by ``AnswerTokenizer``) or as explicit token pieces.
public enum ScriptedText: Sendable, Equatable {
    /// Text split into tokens by ``AnswerTokenizer``.
    case text(String)
    /// Exact tokens, one chunk each.
    case pieces([String])

    /// The tokens to stream.
    public var pieces: [String] {
        switch self {
        case .text(let text): AnswerTokenizer.pieces(text)
        case .pieces(let pieces): pieces
        }
    }
}

/// The answer a request scripts with `[[sim:{JSON}]]` in its last user message.
///
/// The directive lives in the message text so that it survives any proxy that rebuilds the request.
/// Fields (all optional; unknown fields are rejected with a 400 so typos surface):
/// `text`, `reasoning`, `raw_content` (string, or array of strings = exact token pieces),
/// `tool_calls` (`[{"name", "arguments": {…}}]`), `finish`, `error` (`{"status", "message", "type"?,
/// "param"?}`), `midstream_error` (string), `drop_after_chunks` (int), `no_finish` (bool),
/// `prompt_tokens`, `cached_tokens` (int), `tokens_per_second` (number), `ttft_ms` (int), `fault`
/// (``SimFault``: a broken backend's answer instead of a completion),
/// `on_tool_result` (a directive, or an array of them, used instead when tool results follow the
/// user message: the n-th array element after the n-th assistant turn, the last one repeating), and
/// `on_user_text` (`[{"contains": S, "reply": {directive}}]`: the first rule whose `S` is in the text
/// of the conversation's last user message, outside any directive, answers instead — e.g. a client's
/// compaction request).
///
/// The directive that applies is the one in the last user message that has one: a client may add
/// user text after the tool results (Claude Code's reminders), and the script still runs. When no
/// user message has one, the last tool result that has one applies.
public struct SimDirective: Sendable, Equatable {
    /// `text`: the answer's content.
    public var text: ScriptedText?
    /// `reasoning`: reasoning streamed before the content.
    public var reasoning: ScriptedText?
    /// `raw_content`: more content, after `text`, for raw `<tool_call>`/`<think>` rescue tests.
    public var rawContent: ScriptedText?
    /// `tool_calls`: parsed calls (qwen3_coder style) when the request has tools, else raw XML content.
    public var toolCalls: [ScriptedToolCall]?
    /// `finish`: replaces the `finish_reason`.
    public var finish: String?
    /// `error`: answer with this HTTP error instead of generating.
    public var error: ScriptedError?
    /// `midstream_error`: the message of an error event sent after the scripted chunks.
    public var midstreamError: String?
    /// `drop_after_chunks`: close the connection after this many `data:` events.
    public var dropAfterChunks: Int?
    /// `no_finish`: never send a `finish_reason`.
    public var noFinish: Bool = false
    /// `prompt_tokens`: replaces the estimated prompt size (usage and context checks).
    public var promptTokens: Int?
    /// `cached_tokens`: reported as `prompt_tokens_details.cached_tokens`.
    public var cachedTokens: Int?
    /// `tokens_per_second`: replaces the server's rate for this request.
    public var tokensPerSecond: Double?
    /// `ttft_ms`: replaces the server's time to first token for this request.
    public var ttftMilliseconds: Int?
    /// `fault`: answer with this protocol fault instead of a completion.
    public var fault: SimFault?

    /// Largest `ttft_ms` (a day): the simulator's clock arithmetic stays far from overflow.
    public static let maximumTTFTMilliseconds = 86_400_000
    /// Smallest positive `tokens_per_second`: slower is a stall, scripted with `ttft_ms` or a `drip` fault.
    public static let minimumTokensPerSecond = 0.001

    /// Whether the directive scripts any output itself (else the default answer is generated).
    public var scriptsOutput: Bool {
        text != nil || reasoning != nil || rawContent != nil || toolCalls != nil
    }

    /// The marker that opens a directive.
    public static let opener = "[[sim:"

    static let knownFields: Set<String> = [
        "text", "reasoning", "raw_content", "tool_calls", "finish", "error", "midstream_error",
        "drop_after_chunks", "no_finish", "prompt_tokens", "cached_tokens", "tokens_per_second", "ttft_ms",
        "fault", "on_tool_result", "on_user_text",
    ]

    /// The directive that applies to a conversation, `nil` when the last user message has none.
    public static func find(in messages: [JSONValue]) throws(APIError) -> SimDirective? {
        var found: (index: Int, object: JSONObject)?
        // User messages first; then tool results (a file the client read), for a conversation whose
        // first turns the client dropped (Claude Code truncates the oldest turns before compacting).
        for role in ["user", "tool"] where found == nil {
            for index in messages.indices.reversed() where messages[index]["role"]?.stringValue == role {
                if let object = try extractObject(from: messages[index]) {
                    found = (index, object)
                    break
                }
            }
        }
        guard let (userIndex, original) = found else { return nil }
        var object = original
        if let rules = object["on_user_text"] {
            let lastUser = messages.last { $0["role"]?.stringValue == "user" }
            if let reply = try matchingReply(rules, text: lastUser.map(textOutsideDirectives) ?? "") {
                return try SimDirective(object: reply)
            }
        }
        let later = messages[(userIndex + 1)...]
        if let followUps = object["on_tool_result"], later.contains(where: { $0["role"]?.stringValue == "tool" }) {
            let turns = later.filter { $0["role"]?.stringValue == "assistant" }.count
            switch followUps {
            case .object(let next): object = next
            case .array(let steps) where !steps.isEmpty:
                guard let next = steps[min(max(turns, 1), steps.count) - 1].objectValue else {
                    throw invalid("on_tool_result entries must be objects")
                }
                object = next
            default: throw invalid("on_tool_result must be an object or a non-empty array of objects")
            }
        }
        return try SimDirective(object: object)
    }

    /// The reply of the first `on_user_text` rule whose `contains` is in `text`.
    private static func matchingReply(_ rules: JSONValue, text: String) throws(APIError) -> JSONObject? {
        guard let list = rules.arrayValue else { throw invalid("on_user_text must be an array of {contains, reply}") }
        for rule in list {
            guard let needle = rule["contains"]?.stringValue, !needle.isEmpty, let reply = rule["reply"]?.objectValue else {
                throw invalid("on_user_text entries need a non-empty string 'contains' and an object 'reply'")
            }
            if text.contains(needle) { return reply }
        }
        return nil
    }

    /// A message's text with every `[[sim:…]]` directive cut out.
    static func textOutsideDirectives(_ message: JSONValue) -> String {
        var texts: [String] = []
        switch message["content"] {
        case .string(let text)?: texts = [text]
        case .array(let parts)?: texts = parts.compactMap { $0["text"]?.stringValue }
        default: break
        }
        let needle = Array(opener.utf8)
        return texts.map { text in
            let bytes = Array(text.utf8)
            var kept: [UInt8] = []
            var offset = 0
            while let start = bytes.firstIndex(of: needle, from: offset) {
                kept += bytes[offset..<start]
                guard let end = (try? parseDirective(bytes, jsonStart: start + needle.count))?.end else {
                    offset = start
                    break
                }
                offset = end
            }
            kept += bytes[offset...]
            return String(decoding: kept, as: UTF8.self)
        }.joined(separator: "\n")
    }

    /// Parses a directive's JSON object.
    public init(object: JSONObject) throws(APIError) {
        for key in object.keys where !SimDirective.knownFields.contains(key) {
            throw SimDirective.invalid("unknown field '\(key)'")
        }
        text = try SimDirective.scriptedText(object["text"], field: "text")
        reasoning = try SimDirective.scriptedText(object["reasoning"], field: "reasoning")
        rawContent = try SimDirective.scriptedText(object["raw_content"], field: "raw_content")
        if let calls = object["tool_calls"] {
            guard let list = calls.arrayValue else { throw SimDirective.invalid("tool_calls must be an array") }
            var parsed: [ScriptedToolCall] = []
            for call in list {
                guard let name = call["name"]?.stringValue else {
                    throw SimDirective.invalid("every tool call needs a string 'name'")
                }
                let arguments: JSONObject
                switch call["arguments"] {
                case nil, .null?: arguments = JSONObject()
                case .object(let value)?: arguments = value
                case .string(let text)?:
                    guard let value = (try? JSONParser.parse(text))?.objectValue else {
                        throw SimDirective.invalid("tool call arguments must be an object")
                    }
                    arguments = value
                default: throw SimDirective.invalid("tool call arguments must be an object")
                }
                parsed.append(ScriptedToolCall(name: name, arguments: arguments))
            }
            toolCalls = parsed
        }
        finish = try SimDirective.string(object["finish"], field: "finish")
        if let error = object["error"] {
            guard let status = error["status"]?.intValue, (100...599).contains(status) else {
                throw SimDirective.invalid("error needs an integer 'status' between 100 and 599")
            }
            self.error = ScriptedError(
                status: status,
                message: error["message"]?.stringValue ?? "Simulated error",
                type: error["type"]?.stringValue,
                param: error["param"] ?? .null
            )
        }
        midstreamError = try SimDirective.string(object["midstream_error"], field: "midstream_error")
        dropAfterChunks = try SimDirective.integer(object["drop_after_chunks"], field: "drop_after_chunks")
        if let flag = object["no_finish"] {
            guard let value = flag.boolValue else { throw SimDirective.invalid("no_finish must be a boolean") }
            noFinish = value
        }
        promptTokens = try SimDirective.integer(object["prompt_tokens"], field: "prompt_tokens")
        cachedTokens = try SimDirective.integer(object["cached_tokens"], field: "cached_tokens")
        if let rate = object["tokens_per_second"] {
            guard let value = rate.doubleValue, value == 0 || (value >= Self.minimumTokensPerSecond && value.isFinite) else {
                throw SimDirective.invalid("tokens_per_second must be 0 or a number >= \(Self.minimumTokensPerSecond)")
            }
            tokensPerSecond = value
        }
        ttftMilliseconds = try SimDirective.integer(object["ttft_ms"], field: "ttft_ms")
        if let ttft = ttftMilliseconds, ttft > Self.maximumTTFTMilliseconds {
            throw SimDirective.invalid("ttft_ms must be at most \(Self.maximumTTFTMilliseconds)")
        }
        if let fault = object["fault"] { self.fault = try SimFault(json: fault) }
        if let rules = object["on_user_text"] { _ = try SimDirective.matchingReply(rules, text: "") }
    }

    /// Scripted text, or `nil` when the field is absent.
    private static func scriptedText(_ value: JSONValue?, field: String) throws(APIError) -> ScriptedText? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return .text(text)
        case .array(let values)?:
            let pieces = values.compactMap(\.stringValue)
            guard pieces.count == values.count else { throw invalid("\(field) pieces must all be strings") }
            return .pieces(pieces)
        default: throw invalid("\(field) must be a string or an array of strings")
        }
    }

    private static func string(_ value: JSONValue?, field: String) throws(APIError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue else { throw invalid("\(field) must be a string") }
        return text
    }

    private static func integer(_ value: JSONValue?, field: String) throws(APIError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.intValue, number >= 0 else { throw invalid("\(field) must be an integer >= 0") }
        return number
    }

    static func invalid(_ reason: String) -> APIError {
        .badRequest("vllm-sim: invalid [[sim:...]] directive: \(reason)")
    }

    /// The directive object in a message's text (its `content` string or text parts); the last one
    /// when there are several.
    static func extractObject(from message: JSONValue) throws(APIError) -> JSONObject? {
        var texts: [String] = []
        switch message["content"] {
        case .string(let text)?: texts = [text]
        case .array(let parts)?: texts = parts.compactMap { $0["text"]?.stringValue }
        default: break
        }
        var found: JSONObject?
        let needle = Array(opener.utf8)
        for text in texts where text.contains(opener) {
            let bytes = Array(text.utf8)
            var offset = 0
            while let start = bytes.firstIndex(of: needle, from: offset) {
                let object = try parseDirective(bytes, jsonStart: start + needle.count)
                found = object.value
                offset = object.end
            }
        }
        return found
    }

    /// Parses `{…}]]` starting at `jsonStart` (whitespace allowed around the object).
    private static func parseDirective(_ bytes: [UInt8], jsonStart: Int) throws(APIError) -> (value: JSONObject, end: Int) {
        var index = jsonStart
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x09 { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            throw invalid("expected '{' after [[sim:")
        }
        let objectStart = index
        var depth = 0
        var inString = false
        var escaped = false
        var objectEnd: Int?
        scan: while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        objectEnd = index + 1
                        break scan
                    }
                default: break
                }
            }
            index += 1
        }
        guard let objectEnd else { throw invalid("unterminated JSON object") }
        index = objectEnd
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x09 { index += 1 }
        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "]"), bytes[index + 1] == UInt8(ascii: "]") else {
            throw invalid("expected ']]' after the JSON object")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes[objectStart..<objectEnd])
        } catch {
            throw invalid(error.description)
        }
        guard let object = value.objectValue else { throw invalid("expected a JSON object") }
        return (object, index + 2)
    }
}
