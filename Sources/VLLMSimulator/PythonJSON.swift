// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Writes JSON the way Python's `json.dumps` does with default separators: `", "` between members and
/// `": "` after keys.
///
/// vLLM writes two things this way: tool-call argument fragments (qwen3_coder parser,
/// `json.dumps(..., ensure_ascii=False)`) and mid-stream error events (`json.dumps(...)`, which escapes
/// every non-ASCII character as `\uXXXX`).
enum PythonJSON {
    /// The text of `value`; `ensureASCII` escapes non-ASCII as Python's default does.
    static func dumps(_ value: JSONValue, ensureASCII: Bool) -> String {
        var buffer: [UInt8] = []
        write(value, ensureASCII: ensureASCII, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends the text of `value` to `buffer`.
    static func write(_ value: JSONValue, ensureASCII: Bool, into buffer: inout [UInt8]) {
        switch value {
        case .null, .bool, .number:
            JSONWriter.write(value, into: &buffer)
        case .string(let text):
            writeString(text, ensureASCII: ensureASCII, into: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { buffer.append(contentsOf: ", ".utf8) }
                write(element, ensureASCII: ensureASCII, into: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let object):
            buffer.append(UInt8(ascii: "{"))
            for (position, member) in object.members.enumerated() {
                if position > 0 { buffer.append(contentsOf: ", ".utf8) }
                writeString(member.key, ensureASCII: ensureASCII, into: &buffer)
                buffer.append(contentsOf: ": ".utf8)
                write(member.value, ensureASCII: ensureASCII, into: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    /// A quoted string: the compact writer's escapes, plus `\uXXXX` (UTF-16 units, lowercase hex) for
    /// every non-ASCII scalar when `ensureASCII` is set.
    static func writeString(_ text: String, ensureASCII: Bool, into buffer: inout [UInt8]) {
        guard ensureASCII, text.utf8.contains(where: { $0 >= 0x80 }) else {
            JSONWriter.writeString(text, into: &buffer)
            return
        }
        // The compact writer escapes quotes, backslashes and control characters and leaves all other
        // text as UTF-8: only the non-ASCII scalars are left to escape.
        var escaped: [UInt8] = []
        JSONWriter.writeString(text, into: &escaped)
        for scalar in String(decoding: escaped, as: UTF8.self).unicodeScalars {
            if scalar.isASCII {
                buffer.append(UInt8(scalar.value))
            } else {
                for unit in String(scalar).utf16 { appendEscape(unit, into: &buffer) }
            }
        }
    }

    private static func appendEscape(_ unit: UInt16, into buffer: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        buffer.append(contentsOf: #"\u"#.utf8)
        for shift in stride(from: 12, through: 0, by: -4) {
            buffer.append(digits[Int((unit >> UInt16(shift)) & 0xF)])
        }
    }
}
