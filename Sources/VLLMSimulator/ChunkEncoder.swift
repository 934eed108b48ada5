// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Writes the `data: …\n\n` events of one streamed completion, byte for byte as vLLM does
/// (pydantic `model_dump_json(exclude_unset=True)`: compact, UTF-8, unset fields left out).
///
/// The envelope up to `"delta":` is the same for every chunk of a stream, so it is built once.
struct ChunkEncoder: Sendable {
    let reasoningField: ReasoningFieldMode
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[`
    private let head: [UInt8]

    /// The event that ends every stream.
    static let done: [UInt8] = Array("data: [DONE]\n\n".utf8)

    init(id: String, created: Int, model: String, reasoningField: ReasoningFieldMode) {
        self.reasoningField = reasoningField
        var head: [UInt8] = Array(#"data: {"id":"#.utf8)
        JSONWriter.writeString(id, into: &head)
        head.append(contentsOf: #","object":"chat.completion.chunk","created":"#.utf8)
        head.append(contentsOf: String(created).utf8)
        head.append(contentsOf: #","model":"#.utf8)
        JSONWriter.writeString(model, into: &head)
        head.append(contentsOf: #","choices":["#.utf8)
        self.head = head
    }

    /// Token counts for `stream_options.continuous_usage_stats`.
    struct Usage {
        var prompt: Int
        var completion: Int
    }

    /// The first chunk: `{"role":"assistant","content":""}` (plus `"reasoning_content":null` and a
    /// top-level `"prompt_token_ids":null` when imitating the dual-field releases).
    func roleChunk(usage: Usage?) -> [UInt8] {
        var out = head
        out.append(contentsOf: #"{"index":0,"delta":{"role":"assistant","content":"""#.utf8)
        if reasoningField == .both { out.append(contentsOf: #","reasoning_content":null"#.utf8) }
        out.append(contentsOf: #"},"logprobs":null,"finish_reason":null}]"#.utf8)
        appendUsage(usage, to: &out)
        if reasoningField == .both { out.append(contentsOf: #","prompt_token_ids":null"#.utf8) }
        out.append(contentsOf: "}\n\n".utf8)
        return out
    }

    /// A choice chunk carrying `delta`, with `finish` when it is the last one.
    func chunk(_ delta: Generation.FinalDelta, finish: Finish?, usage: Usage?) -> [UInt8] {
        var out = head
        out.append(contentsOf: #"{"index":0,"delta":"#.utf8)
        switch delta {
        case .emptyContent: out.append(contentsOf: #"{"content":""}"#.utf8)
        case .empty: out.append(contentsOf: "{}".utf8)
        case .output(let output): writeDelta(output, into: &out)
        }
        out.append(contentsOf: #","logprobs":null,"finish_reason":"#.utf8)
        if let finish {
            JSONWriter.writeString(finish.reason, into: &out)
            out.append(contentsOf: #","stop_reason":"#.utf8)
            if let stop = finish.stopReason { JSONWriter.writeString(stop, into: &out) } else { out.append(contentsOf: "null".utf8) }
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","token_ids":null}]"#.utf8)
        appendUsage(usage, to: &out)
        out.append(contentsOf: "}\n\n".utf8)
        return out
    }

    /// The `stream_options.include_usage` chunk: `"choices":[]` and the totals
    /// (`exclude_none`: `prompt_tokens_details` only when there are cached tokens).
    func usageChunk(prompt: Int, completion: Int, cached: Int?) -> [UInt8] {
        var out = head
        out.append(UInt8(ascii: "]"))
        out.append(contentsOf: #","usage":"#.utf8)
        writeUsage(prompt: prompt, completion: completion, into: &out)
        if let cached {
            out.removeLast()
            out.append(contentsOf: #","prompt_tokens_details":{"cached_tokens":"#.utf8)
            out.append(contentsOf: String(cached).utf8)
            out.append(contentsOf: "}}".utf8)
        }
        out.append(contentsOf: "}\n\n".utf8)
        return out
    }

    /// A mid-stream error event (Python `json.dumps` spacing, as vLLM writes it).
    static func errorEvent(_ error: APIError, format: ErrorFormat) -> [UInt8] {
        Array("data: \(error.streamingPayload(format: format))\n\n".utf8)
    }

    private func appendUsage(_ usage: Usage?, to out: inout [UInt8]) {
        guard let usage else { return }
        out.append(contentsOf: #","usage":"#.utf8)
        writeUsage(prompt: usage.prompt, completion: usage.completion, into: &out)
    }

    private func writeUsage(prompt: Int, completion: Int, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"prompt_tokens":"#.utf8)
        out.append(contentsOf: String(prompt).utf8)
        out.append(contentsOf: #","total_tokens":"#.utf8)
        out.append(contentsOf: String(prompt + completion).utf8)
        out.append(contentsOf: #","completion_tokens":"#.utf8)
        out.append(contentsOf: String(completion).utf8)
        out.append(UInt8(ascii: "}"))
    }

    /// A delta object: `{"content":…}`, the reasoning field(s), or a `tool_calls` entry.
    func writeDelta(_ delta: OutputDelta, into out: inout [UInt8]) {
        switch delta {
        case .content(let text):
            out.append(contentsOf: #"{"content":"#.utf8)
            JSONWriter.writeString(text, into: &out)
        case .reasoning(let text):
            switch reasoningField {
            case .reasoning:
                out.append(contentsOf: #"{"reasoning":"#.utf8)
                JSONWriter.writeString(text, into: &out)
            case .reasoningContent:
                out.append(contentsOf: #"{"reasoning_content":"#.utf8)
                JSONWriter.writeString(text, into: &out)
            case .both:
                out.append(contentsOf: #"{"reasoning":"#.utf8)
                JSONWriter.writeString(text, into: &out)
                out.append(contentsOf: #","reasoning_content":"#.utf8)
                JSONWriter.writeString(text, into: &out)
            }
        case .toolCallStart(let index, let id, let name):
            out.append(contentsOf: #"{"tool_calls":[{"id":"#.utf8)
            JSONWriter.writeString(id, into: &out)
            out.append(contentsOf: #","type":"function","index":"#.utf8)
            out.append(contentsOf: String(index).utf8)
            out.append(contentsOf: #","function":{"name":"#.utf8)
            JSONWriter.writeString(name, into: &out)
            out.append(contentsOf: #","arguments":"{"}}]"#.utf8)
        case .toolCallArguments(let index, let fragment):
            out.append(contentsOf: #"{"tool_calls":[{"index":"#.utf8)
            out.append(contentsOf: String(index).utf8)
            out.append(contentsOf: #","function":{"arguments":"#.utf8)
            JSONWriter.writeString(fragment, into: &out)
            out.append(contentsOf: "}}]".utf8)
        }
        out.append(UInt8(ascii: "}"))
    }
}
