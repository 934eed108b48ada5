// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Turns a tool call's `arguments` text, fed in fragments, into JSON that is always a valid object.
///
/// It checks the JSON grammar byte by byte and hands out text only up to the last point where the
/// document could be finished by appending closers (`"`, `}`, `]`): after a complete value, inside a
/// string value, after `{` or `[`. So what has been streamed is always a prefix of a valid object, and
/// `finish()` completes it — the repair of an answer cut off by `max_tokens`. Text past a syntax error
/// is dropped. Arguments that never start an object become `{}` when blank, the object inside a
/// JSON-encoded string when that is what the model sent, or else `{"_invalid_arguments": "<text>"}`,
/// so no `tool_use` block can carry invalid input. Fed all at once or in any fragments, the
/// concatenated output is the same.
struct ToolArgumentsScanner: Sendable {
    static let invalidArgumentsKey = "_invalid_arguments"

    private enum NumberPhase { case minus, zero, integer, dot, fraction, exponent, exponentSign, exponentDigits }
    private enum Escape: Equatable { case none, backslash, unicode(Int) }
    private enum State: Equatable {
        case start, objectStart, arrayStart, expectKey, key, afterKey, expectValue, string, afterValue, done, invalid
        case number(NumberPhase)
        case literal(ArraySlice<UInt8>)
    }

    private var raw: [UInt8] = []
    private var emittedCount = 0
    /// The end of the longest prefix of `raw` that closers can complete (see `markIfSafe`).
    private var safeCount = 0
    /// Whether that prefix ends inside a string value, so its completion starts with `"`. The rest of
    /// the completion is `stack` closed in reverse: every push or pop of `stack` is followed at once
    /// by a safe point, so the stack of the last safe point is the current one.
    private var safeInString = false
    /// The safe point is where the object ended; nothing after it is ever sent.
    private var safeAtEnd = false
    private var stack: [UInt8] = []
    private var state: State = .start
    private var escape: Escape = .none

    /// Whether a whole object has been read.
    var isComplete: Bool { state == .done }

    /// Feeds a fragment; returns the text that can be streamed now (possibly empty).
    mutating func feed(_ fragment: String) -> String {
        let start = raw.count
        raw.append(contentsOf: fragment.utf8)
        var position = start
        while position < raw.count {
            let byte = raw[position]
            consume(byte)
            position += 1
            if byte < 0x80 || position == raw.count { markIfSafe(at: position) }
        }
        return takeSafeText()
    }

    /// The text that completes what was streamed into a valid JSON object.
    mutating func finish() -> String {
        let pending = takeSafeText()
        if safeCount == 0, state != .done {
            return fallback()
        }
        var completion = safeInString ? "\"" : ""
        for opener in stack.reversed() { completion.append(opener == UInt8(ascii: "{") ? "}" : "]") }
        return pending + completion
    }

    private mutating func takeSafeText() -> String {
        guard safeCount > emittedCount else { return "" }
        let text = String(decoding: raw[emittedCount..<safeCount], as: UTF8.self)
        emittedCount = safeCount
        return text
    }

    private func fallback() -> String {
        let text = String(decoding: raw, as: UTF8.self)
        if text.trimmingWhitespace.isEmpty { return "{}" }
        if case .string(let inner)? = try? JSONParser.parse(raw),
           let object = try? JSONParser.parse(inner), case .object = object
        {
            return object.jsonString
        }
        return JSONValue.object([Self.invalidArgumentsKey: .string(text)]).jsonString
    }

    /// Called after every ASCII byte (and at the end of a fragment): records `position` as the new
    /// safe point when the text up to it can be completed. Runs per byte, so it allocates nothing.
    private mutating func markIfSafe(at position: Int) {
        switch state {
        case .objectStart, .arrayStart, .afterValue:
            safeInString = false
        case .string where escape == .none:
            safeInString = true
        case .number(let phase) where phase == .zero || phase == .integer || phase == .fraction || phase == .exponentDigits:
            safeInString = false
        case .done:
            // Only where the object ended: text after a complete object is never sent.
            if safeAtEnd { return }
            safeAtEnd = true
            safeInString = false
        default:
            return
        }
        safeCount = position
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func valueEnded() {
        state = stack.isEmpty ? .done : .afterValue
    }

    private mutating func consume(_ byte: UInt8) {
        switch state {
        case .done, .invalid:
            return
        case .start:
            if Self.isWhitespace(byte) { return }
            if byte == UInt8(ascii: "{") {
                stack.append(byte)
                state = .objectStart
            } else {
                state = .invalid
            }
        case .objectStart:
            if Self.isWhitespace(byte) { return }
            if byte == UInt8(ascii: "\"") {
                state = .key
            } else if byte == UInt8(ascii: "}") {
                stack.removeLast()
                valueEnded()
            } else {
                state = .invalid
            }
        case .expectKey:
            if Self.isWhitespace(byte) { return }
            state = byte == UInt8(ascii: "\"") ? .key : .invalid
        case .key, .string:
            consumeStringByte(byte)
        case .afterKey:
            if Self.isWhitespace(byte) { return }
            state = byte == UInt8(ascii: ":") ? .expectValue : .invalid
        case .expectValue, .arrayStart:
            if Self.isWhitespace(byte) { return }
            if state == .arrayStart, byte == UInt8(ascii: "]") {
                stack.removeLast()
                valueEnded()
                return
            }
            startValue(byte)
        case .number(let phase):
            if let next = Self.advance(phase, byte) {
                state = .number(next)
            } else if phase == .zero || phase == .integer || phase == .fraction || phase == .exponentDigits {
                valueEnded()
                consume(byte)
            } else {
                state = .invalid
            }
        case .literal(let rest):
            guard rest.first == byte else {
                state = .invalid
                return
            }
            let remaining = rest.dropFirst()
            if remaining.isEmpty { valueEnded() } else { state = .literal(remaining) }
        case .afterValue:
            if Self.isWhitespace(byte) { return }
            let top = stack.last
            if byte == UInt8(ascii: ",") {
                state = top == UInt8(ascii: "{") ? .expectKey : .expectValue
            } else if byte == UInt8(ascii: "}"), top == UInt8(ascii: "{") {
                stack.removeLast()
                valueEnded()
            } else if byte == UInt8(ascii: "]"), top == UInt8(ascii: "[") {
                stack.removeLast()
                valueEnded()
            } else {
                state = .invalid
            }
        }
    }

    private mutating func startValue(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): state = .string
        case UInt8(ascii: "{"):
            stack.append(byte)
            state = .objectStart
        case UInt8(ascii: "["):
            stack.append(byte)
            state = .arrayStart
        case UInt8(ascii: "-"): state = .number(.minus)
        case UInt8(ascii: "0"): state = .number(.zero)
        case UInt8(ascii: "1")...UInt8(ascii: "9"): state = .number(.integer)
        case UInt8(ascii: "t"): state = .literal(ArraySlice("rue".utf8))
        case UInt8(ascii: "f"): state = .literal(ArraySlice("alse".utf8))
        case UInt8(ascii: "n"): state = .literal(ArraySlice("ull".utf8))
        default: state = .invalid
        }
    }

    private mutating func consumeStringByte(_ byte: UInt8) {
        switch escape {
        case .none:
            if byte == UInt8(ascii: "\"") {
                if state == .key { state = .afterKey } else { valueEnded() }
            } else if byte == UInt8(ascii: "\\") {
                escape = .backslash
            } else if byte < 0x20 {
                state = .invalid
            }
        case .backslash:
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                escape = .none
            case UInt8(ascii: "u"):
                escape = .unicode(4)
            default:
                state = .invalid
            }
        case .unicode(let remaining):
            let isHex = Self.isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
            guard isHex else {
                state = .invalid
                return
            }
            escape = remaining == 1 ? .none : .unicode(remaining - 1)
        }
    }

    private static func advance(_ phase: NumberPhase, _ byte: UInt8) -> NumberPhase? {
        let digit = isDigit(byte)
        switch phase {
        case .minus: return byte == UInt8(ascii: "0") ? .zero : (digit ? .integer : nil)
        case .zero: return byte == UInt8(ascii: ".") ? .dot : (byte | 0x20 == UInt8(ascii: "e") ? .exponent : nil)
        case .integer:
            if digit { return .integer }
            return byte == UInt8(ascii: ".") ? .dot : (byte | 0x20 == UInt8(ascii: "e") ? .exponent : nil)
        case .dot: return digit ? .fraction : nil
        case .fraction:
            if digit { return .fraction }
            return byte | 0x20 == UInt8(ascii: "e") ? .exponent : nil
        case .exponent:
            if digit { return .exponentDigits }
            return byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") ? .exponentSign : nil
        case .exponentSign, .exponentDigits: return digit ? .exponentDigits : nil
        }
    }
}
