// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A protocol fault the simulator answers with instead of a completion: what a broken or hostile
/// backend could send, for the bridge's fault tests. Scripted with
/// `[[sim:{"fault":{"kind":"…","count":N,"interval_ms":M}}]]` (`count` and `interval_ms` optional).
///
/// vLLM never sends any of these; the simulator does only when a directive asks.
public struct SimFault: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A normal answer whose usage says 2⁶³−1 prompt and completion tokens and −(2⁶³−1) cached ones.
        case hugeNumbers = "huge_numbers"
        /// A context-length error with a 2⁶³−1-token window and no other number: a 400 body, or an
        /// error event inside a 200 stream for a streamed request.
        case hugeContextError = "huge_context_error"
        /// A 200 stream of `data:` lines that never ends an event (no blank line), until the client leaves.
        case endlessData = "endless_data"
        /// `count` tool-call deltas, each for a call index of its own and none named, then `tool_calls`.
        case toolDeltas = "tool_deltas"
        /// A valid stream that never finishes, one byte every `interval_ms`.
        case drip
        /// A 200 stream cut by a TCP reset after its first chunk.
        case reset
        /// An HTML page with status 200 (a captive portal or a misrouted proxy).
        case html200 = "html_200"
    }

    /// Largest `count`: the simulator's own work stays bounded.
    public static let maximumCount = 1_000_000
    /// Largest `interval_ms` (a minute).
    public static let maximumIntervalMilliseconds = 60_000

    public var kind: Kind
    /// `count`: how many tool deltas (`tool_deltas`); default 20,000.
    public var count: Int
    /// `interval_ms`: time between two bytes of `drip`; default 1000.
    public var intervalMilliseconds: Int

    public init(kind: Kind, count: Int = 20_000, intervalMilliseconds: Int = 1000) {
        self.kind = kind
        self.count = count
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Reads the `fault` member of a directive.
    init(json: JSONValue) throws(APIError) {
        guard let name = json["kind"]?.stringValue, let kind = Kind(rawValue: name) else {
            throw SimDirective.invalid("fault needs a 'kind', one of " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        for key in json.objectValue?.keys ?? [] where !["kind", "count", "interval_ms"].contains(key) {
            throw SimDirective.invalid("unknown fault field '\(key)'")
        }
        self.kind = kind
        count = try Self.bounded(json["count"], field: "count", range: 1...Self.maximumCount) ?? 20_000
        intervalMilliseconds = try Self.bounded(json["interval_ms"], field: "interval_ms", range: 1...Self.maximumIntervalMilliseconds) ?? 1000
    }

    private static func bounded(_ value: JSONValue?, field: String, range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.intValue, range.contains(number) else {
            throw SimDirective.invalid("fault \(field) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    // MARK: Payloads

    /// The usage members of `huge_numbers`.
    static let hugeUsage = #"{"prompt_tokens":9223372036854775807,"total_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"prompt_tokens_details":{"cached_tokens":-9223372036854775807}}"#

    /// The error of `huge_context_error`: a window of 2⁶³−1 tokens and no other number.
    static let hugeContextError = APIError(
        status: 400,
        message: "This model's maximum context length is 9223372036854775807 tokens. Please reduce the length of the messages."
    )

    /// The page of `html_200`.
    static let htmlPage = Array("<!DOCTYPE html>\n<html><head><title>Gateway</title></head><body><h1>Please sign in</h1></body></html>\n".utf8)

    /// One `data:` line of `endless_data` (64 KiB, no blank line ever follows).
    static let endlessLine: [UInt8] = Array("data: ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 65_536 - 7) + [0x0A]

    /// A whole `chat.completion` body carrying `usage`.
    static func wholeResponse(id: String, created: Int, model: String, content: String, usage: String) -> [UInt8] {
        var out: [UInt8] = Array(#"{"id":"#.utf8)
        JSONWriter.writeString(id, into: &out)
        out.append(contentsOf: #","object":"chat.completion","created":\#(created),"model":"#.utf8)
        JSONWriter.writeString(model, into: &out)
        out.append(contentsOf: #","choices":[{"index":0,"message":{"role":"assistant","content":"#.utf8)
        JSONWriter.writeString(content, into: &out)
        out.append(contentsOf: #"},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":\#(usage)}"#.utf8)
        return out
    }

    /// A streamed chunk with the raw `choices` text and optional raw `usage`.
    static func chunk(id: String, created: Int, model: String, choices: String, usage: String? = nil) -> [UInt8] {
        var out: [UInt8] = Array(#"data: {"id":"#.utf8)
        JSONWriter.writeString(id, into: &out)
        out.append(contentsOf: #","object":"chat.completion.chunk","created":\#(created),"model":"#.utf8)
        JSONWriter.writeString(model, into: &out)
        out.append(contentsOf: #","choices":\#(choices)"#.utf8)
        if let usage { out.append(contentsOf: #","usage":\#(usage)"#.utf8) }
        out.append(contentsOf: "}\n\n".utf8)
        return out
    }
}
