// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import ControlProtocol
import Foundation

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
            while let found = result.range(of: marker, options: .caseInsensitive, range: searchStart..<result.endIndex) {
                let valueEnd = result[found.upperBound...].firstIndex { $0 == "\"" || $0 == "\n" || $0 == "\\" } ?? result.endIndex
                let replacement = (marker == billingHeaderPrefix ? " " : "") + redacted
                result.replaceSubrange(found.upperBound..<valueEnd, with: replacement)
                searchStart = result.index(found.upperBound, offsetBy: replacement.count)
            }
        }
        return result
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
