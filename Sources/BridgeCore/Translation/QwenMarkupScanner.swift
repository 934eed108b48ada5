// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Recovers Qwen markup that a backend without `--reasoning-parser` / `--tool-call-parser` leaves in
/// plain `content`: `<think>…</think>` becomes reasoning and Qwen3-Coder tool calls
/// (`<tool_call><function=NAME><parameter=KEY>VALUE</parameter></function></tool_call>`) become tool
/// calls. Streaming text is held back only while what arrived could be the start of a tag.
///
/// `<think>` counts only before any text; `</think>` with no `<think>` counts only while nothing has been
/// handed out yet (a whole response, or reasoning that arrived in one piece) — a stream cannot take back
/// text it already sent.
struct QwenMarkupScanner: Sendable {
    enum Segment: Equatable, Sendable {
        case text(String)
        case reasoning(String)
        case toolCall(name: String, input: JSONValue)
    }

    private enum Mode { case text, think, toolCall }

    static let thinkOpen = "<think>"
    static let thinkClose = "</think>"
    static let toolCallOpen = "<tool_call>"
    static let toolCallClose = "</tool_call>"
    static let functionOpen = "<function="

    private let enabled: Bool
    private let schemas: [String: JSONValue]
    private var mode = Mode.text
    private var buffer = ""
    /// In `.toolCall` mode, the UTF-8 length of `buffer` already searched for `</tool_call>` (less the
    /// tag's length, for a tag split across feeds): each feed searches only what is new.
    private var toolCallSearched = 0

    /// Most bytes of one `<tool_call>` held while waiting for its end; past this it is handed on as text.
    static let maximumToolCallBytes = 16 << 20
    /// Most white space between `<tool_call>` and `<function=` for it to count as a call.
    static let maximumLeadingWhitespace = 64
    private var emittedAnything = false
    private var emittedText = false

    init(enabled: Bool, schemas: [String: JSONValue]) {
        self.enabled = enabled
        self.schemas = schemas
    }

    mutating func feed(_ text: String) -> [Segment] {
        guard enabled else { return text.isEmpty ? [] : [.text(text)] }
        buffer += text
        return scan(final: false)
    }

    mutating func finish() -> [Segment] {
        guard enabled else { return [] }
        return scan(final: true)
    }

    private mutating func scan(final: Bool) -> [Segment] {
        var segments: [Segment] = []
        func emit(_ segment: Segment) {
            switch segment {
            case .text(let text), .reasoning(let text):
                if text.isEmpty { return }
            case .toolCall: break
            }
            // Only until the first text, and without building a trimmed copy: this runs once per token.
            if !emittedText, case .text(let text) = segment, text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) {
                emittedText = true
            }
            emittedAnything = true
            segments.append(segment)
        }
        while !buffer.isEmpty {
            // Every tag starts with `<`: text and reasoning without one are handed on whole, without the
            // substring searches below (each builds a search table keyed by Character).
            if mode != .toolCall, !buffer.utf8.contains(UInt8(ascii: "<")) {
                emit(mode == .text ? .text(buffer) : .reasoning(buffer))
                buffer = ""
                return segments
            }
            switch mode {
            case .text:
                let thinkAllowed = !emittedText
                var candidates: [(Range<String.Index>, Mode)] = []
                if let range = buffer.firstRange(of: Self.toolCallOpen) { candidates.append((range, .toolCall)) }
                if thinkAllowed, let range = buffer.firstRange(of: Self.thinkOpen),
                   buffer[..<range.lowerBound].trimmingWhitespace.isEmpty
                {
                    candidates.append((range, .think))
                }
                if !emittedAnything, let close = buffer.firstRange(of: Self.thinkClose),
                   !buffer[..<close.lowerBound].contains(Self.thinkOpen),
                   !buffer[..<close.lowerBound].contains(Self.toolCallOpen)
                {
                    emit(.reasoning(String(buffer[..<close.lowerBound])))
                    buffer.removeSubrange(..<close.upperBound)
                    continue
                }
                if let (range, next) = candidates.min(by: { $0.0.lowerBound < $1.0.lowerBound }) {
                    emit(.text(String(buffer[..<range.lowerBound])))
                    buffer.removeSubrange(..<range.upperBound)
                    mode = next
                    continue
                }
                var tags = [Self.toolCallOpen]
                if thinkAllowed { tags.append(Self.thinkOpen) }
                let held = final ? 0 : Self.heldSuffixLength(buffer, tags: tags)
                let cut = buffer.index(buffer.endIndex, offsetBy: -held)
                emit(.text(String(buffer[..<cut])))
                buffer.removeSubrange(..<cut)
                return segments
            case .think:
                let close = buffer.firstRange(of: Self.thinkClose)
                let call = implicitReasoningEnd(in: buffer)
                if let close, call.map({ close.lowerBound <= $0.lowerBound }) ?? true {
                    emit(.reasoning(String(buffer[..<close.lowerBound])))
                    buffer.removeSubrange(..<close.upperBound)
                    mode = .text
                    continue
                }
                if let call {
                    emit(.reasoning(String(buffer[..<call.lowerBound])))
                    buffer.removeSubrange(..<call.upperBound)
                    mode = .toolCall
                    continue
                }
                let held = final ? 0 : Self.heldSuffixLength(buffer, tags: [Self.thinkClose, Self.toolCallOpen])
                let cut = buffer.index(buffer.endIndex, offsetBy: -held)
                emit(.reasoning(String(buffer[..<cut])))
                buffer.removeSubrange(..<cut)
                return segments
            case .toolCall:
                if let close = Self.range(of: Self.toolCallClose, in: buffer, fromUTF8Offset: toolCallSearched) {
                    let body = String(buffer[..<close.lowerBound])
                    buffer.removeSubrange(..<close.upperBound)
                    mode = .text
                    toolCallSearched = 0
                    emit(parseToolCall(body) ?? .text(Self.toolCallOpen + body + Self.toolCallClose))
                    continue
                }
                toolCallSearched = max(0, buffer.utf8.count - (Self.toolCallClose.utf8.count - 1))
                // A call that is not a Qwen function call is ordinary text after all; so is one that
                // grows past the bound without ending.
                let head = buffer.utf8.prefix(Self.maximumLeadingWhitespace + Self.functionOpen.utf8.count)
                let trimmed = String(decoding: head, as: UTF8.self).drop { $0.isWhitespace }
                let notACall = trimmed.isEmpty
                    ? head.count > Self.maximumLeadingWhitespace
                    : !Self.functionOpen.hasPrefix(String(trimmed.prefix(Self.functionOpen.count)))
                if notACall || buffer.utf8.count > Self.maximumToolCallBytes {
                    mode = .text
                    toolCallSearched = 0
                    emit(.text(Self.toolCallOpen))
                    if !notACall {
                        emit(.text(buffer))
                        buffer = ""
                    }
                    continue
                }
                guard final else { return segments }
                let body = buffer
                buffer = ""
                mode = .text
                toolCallSearched = 0
                emit(parseToolCall(body) ?? .text(Self.toolCallOpen + body))
            }
        }
        return segments
    }

    /// Where `tag` (ASCII) first occurs in `text` at or after the UTF-8 offset `start`.
    private static func range(of tag: String, in text: String, fromUTF8Offset start: Int) -> Range<String.Index>? {
        let utf8 = text.utf8
        guard start < utf8.count else { return nil }
        let from = utf8.index(utf8.startIndex, offsetBy: start)
        guard let found = utf8[from...].firstRange(of: tag.utf8) else { return nil }
        return found
    }

    /// vLLM ends reasoning at a `<tool_call>` that opens a function call even without `</think>`.
    private func implicitReasoningEnd(in text: String) -> Range<String.Index>? {
        guard let range = text.firstRange(of: Self.toolCallOpen) else { return nil }
        let rest = text[range.upperBound...].drop { $0.isWhitespace }
        return rest.hasPrefix(Self.functionOpen) ? range : nil
    }

    /// How many trailing characters to hold because they could begin one of `tags`.
    private static func heldSuffixLength(_ text: String, tags: [String]) -> Int {
        var longest = 0
        for tag in tags {
            var length = min(tag.count - 1, text.count)
            while length > longest {
                if tag.hasPrefix(text.suffix(length)) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }

    /// Parses the inside of `<tool_call>…</tool_call>`; `nil` when it holds no function.
    func parseToolCall(_ body: String) -> Segment? {
        guard let open = body.firstRange(of: Self.functionOpen) else { return nil }
        guard let nameEnd = body[open.upperBound...].firstIndex(of: ">") else { return nil }
        let name = body[open.upperBound..<nameEnd].trimmingWhitespace
        guard !name.isEmpty else { return nil }
        var rest = body[body.index(after: nameEnd)...]
        if let end = rest.ranges(of: "</function>").last { rest = rest[..<end.lowerBound] }
        let properties = schemas[name]?["properties"]
        var input = JSONObject()
        while let start = rest.firstRange(of: "<parameter=") {
            guard let keyEnd = rest[start.upperBound...].firstIndex(of: ">") else { break }
            let key = rest[start.upperBound..<keyEnd].trimmingWhitespace
            let valueStart = rest.index(after: keyEnd)
            let valueEnd = Self.parameterEnd(in: rest[valueStart...])
            var value = rest[valueStart..<valueEnd.lowerBound]
            if value.hasPrefix("\n") { value = value.dropFirst() }
            if value.hasSuffix("\n") { value = value.dropLast() }
            input[key] = Self.convert(String(value), schema: properties?[key])
            rest = rest[valueEnd.upperBound...]
        }
        return .toolCall(name: name, input: .object(input))
    }

    /// Where a parameter's value ends: a `</parameter>` followed (after white space) by another
    /// parameter, the end of the function or the end of the call — so a literal `</parameter>` inside
    /// a value stays in it — or, with no closing tag, the next `<parameter=` or the end.
    private static func parameterEnd(in text: Substring) -> Range<Substring.Index> {
        var searchStart = text.startIndex
        while let close = text[searchStart...].firstRange(of: "</parameter>") {
            let after = text[close.upperBound...].drop { $0.isWhitespace }
            if after.isEmpty || after.hasPrefix("<parameter=") || after.hasPrefix("</function>") || after.hasPrefix("</tool_call>") {
                return close
            }
            searchStart = close.upperBound
        }
        if let next = text.firstRange(of: "<parameter=") { return next.lowerBound..<next.lowerBound }
        return text.endIndex..<text.endIndex
    }

    /// Types a parameter's text by its JSON schema, as vLLM's qwen3_coder parser does.
    static func convert(_ text: String, schema: JSONValue?) -> JSONValue {
        guard let schema else { return .string(text) }
        var types: [String] = []
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: break
        }
        let trimmed = text.trimmingWhitespace
        if trimmed.lowercased() == "null" || trimmed == "None", types.isEmpty || types.contains("null") || !types.contains("string") {
            return .null
        }
        if types.contains("string") || (types.isEmpty && schema["enum"] != nil) { return .string(text) }
        for type in types {
            switch type {
            case "integer", "number":
                if let value = try? JSONParser.parse(trimmed), case .number = value { return value }
            case "boolean":
                if trimmed.lowercased() == "true" { return .bool(true) }
                if trimmed.lowercased() == "false" { return .bool(false) }
            case "object", "array":
                if let value = try? JSONParser.parse(trimmed) { return value }
            default:
                break
            }
        }
        if types.isEmpty, let value = try? JSONParser.parse(trimmed) { return value }
        return .string(text)
    }
}
