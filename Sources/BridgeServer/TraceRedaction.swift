// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import ControlProtocol
import FoundationEssentials

/// What `sparkctl trace --bodies` may show of a body: keys and Claude Code's billing header are
/// replaced by `[redacted]`, and the text is cut at `TraceEvent.maxBodyBytes`.
enum TraceRedaction {
    static let redacted = "[redacted]"
    /// Member names whose values are secrets, lowercased.
    static let secretKeys: Set<String> = [
        "api_key", "apikey", "x-api-key", "authorization", "proxy-authorization", "master_key",
        "password", "secret", "client_secret", "access_token", "refresh_token",
    ]
    static let billingHeaderPrefix = "x-anthropic-billing-header:"

    /// The body as text for a trace event: JSON redacted member by member, anything else (a stream
    /// of server-sent events) with billing header text and bearer tokens blanked.
    static func bodyText(_ bytes: [UInt8]) -> String {
        let text: String
        if let json = try? JSONParser.parse(bytes) {
            text = redact(json).jsonString
        } else {
            text = redactText(String(decoding: bytes, as: UTF8.self))
        }
        return truncate(text)
    }

    /// `value` with secret members and billing header strings replaced.
    static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(members: object.members.map { member in
                if secretKeys.contains(member.key.lowercased()), !member.value.isNull {
                    return JSONObject.Member(key: member.key, value: .string(redacted))
                }
                return JSONObject.Member(key: member.key, value: redact(member.value))
            }))
        case .array(let items):
            return .array(items.map(redact))
        case .string(let text):
            return .string(redactText(text))
        case .null, .bool, .number:
            return value
        }
    }

    /// `text` with the rest of each billing header (to the end of its line or JSON string) and each
    /// `Bearer` token blanked.
    static func redactText(_ text: String) -> String {
        var result = text
        for marker in [billingHeaderPrefix, "Bearer "] {
            var searchStart = result.startIndex
            while let found = rangeIgnoringASCIICase(of: marker, in: result, from: searchStart) {
                let valueEnd = result[found.upperBound...].firstIndex { $0 == "\"" || $0 == "\n" || $0 == "\\" } ?? result.endIndex
                let replacement = (marker == billingHeaderPrefix ? " " : "") + redacted
                result.replaceSubrange(found.upperBound..<valueEnd, with: replacement)
                searchStart = result.index(found.upperBound, offsetBy: replacement.count)
            }
        }
        return result
    }

    /// The first occurrence of the ASCII `marker` in `text` at or after `start`, ASCII letters
    /// matching either case.
    static func rangeIgnoringASCIICase(of marker: String, in text: String, from start: String.Index) -> Range<String.Index>? {
        func folded(_ byte: UInt8) -> UInt8 { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte }
        let needle = marker.utf8.map(folded)
        let bytes = text.utf8
        var candidate = start
        while candidate < bytes.endIndex {
            var probe = candidate
            var matched = 0
            while matched < needle.count, probe < bytes.endIndex, folded(bytes[probe]) == needle[matched] {
                matched += 1
                probe = bytes.index(after: probe)
            }
            if matched == needle.count { return candidate..<probe }
            candidate = bytes.index(after: candidate)
        }
        return nil
    }

    /// `text` cut to at most `TraceEvent.maxBodyBytes` bytes of UTF-8, on a character boundary (the
    /// character at the cut goes too).
    static func truncate(_ text: String) -> String {
        guard text.utf8.count > TraceEvent.maxBodyBytes else { return text }
        var bytes = Array(text.utf8.prefix(TraceEvent.maxBodyBytes))
        // Drop a character the cut went through: its continuation bytes, then its lead byte.
        while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
        if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self) + "…[truncated]"
    }
}
