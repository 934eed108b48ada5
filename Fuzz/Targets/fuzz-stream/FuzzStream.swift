import BridgeCore
import BridgeJSON
import FuzzSupport

/// Arbitrary bytes as a vLLM answer, streamed (`text/event-stream`) and whole (`chat.completion`).
///
/// Input layout: byte 0 picks the request the answer belongs to (tools, thinking off, a prefill, stop
/// sequences, markup rescue on or off); byte 1 sets the size of the pieces the stream arrives in; the
/// rest is the body. The SSE decoder must yield the same payloads whether the body arrives whole or
/// in pieces; the stream translator must turn any payloads into a well-formed Anthropic event stream
/// (`message_start`, blocks opened, filled with deltas of their own type and closed in order,
/// `message_delta`, `message_stop`, or an `error` event) whose tool inputs are JSON objects; the
/// whole-answer translation must give a message or an Anthropic error; the chunk reading's fast path
/// (`ChatCompletionChunk(commonChunkBytes:)`) must give what the tree reading gives, on every payload
/// and on the body itself. Never a trap.
@main
enum FuzzStream {
    static func main() { runFuzzer(test) }

    static let test: FuzzTest = { data, size in
        let input = fuzzBytes(data, size)
        guard input.count >= 2 else { return 0 }
        let context = contexts[Int(input[0]) % contexts.count]
        let pieceSize = Int(input[1]) + 1
        let body = Array(input[2...])

        let whole = decode(body, pieceSize: body.count + 1)
        let pieces = decode(body, pieceSize: pieceSize)
        fuzzCheck(whole == pieces, "the SSE decoder's payloads depend on how the bytes were split")
        for payload in (whole ?? []) + [body] {
            fuzzCheck(UpstreamStreamItem(data: payload) == UpstreamStreamItem(treeData: payload), "the chunk fast path and the tree reading disagree")
        }

        var translator = StreamTranslator(context: context)
        var events: [AnthropicStreamEvent] = []
        var decoder = SSEDecoder()
        var start = 0
        while start < body.count, !translator.isFinished {
            let end = min(start + pieceSize, body.count)
            do {
                for payload in try decoder.feed(body[start..<end]) {
                    events += translator.consume(UpstreamStreamItem(data: payload))
                }
            } catch {
                events += translator.abort(with: AnthropicError(.api, "The backend sent an oversized stream line"))
            }
            start = end
        }
        if !translator.isFinished, let last = decoder.finish() {
            events += translator.consume(UpstreamStreamItem(data: last))
        }
        events += translator.endOfStream()
        fuzzCheck(translator.isFinished, "the translator is still open after the end of the stream")
        StreamGrammar.check(events)

        if let json = try? JSONParser.parse(body) {
            do throws(AnthropicError) {
                let message = try ResponseTranslator.translate(json, context: context)
                for case .toolUse(_, _, let input) in message.content {
                    fuzzCheck(input.objectValue != nil, "a tool_use input that is not an object")
                }
                fuzzCheck((try? JSONParser.parse(message.json.jsonBytes)) != nil, "a message that is not valid JSON")
            } catch {
                fuzzCheck((400...599).contains(error.httpStatus), "an error with status \(error.httpStatus)")
            }
        }
        return 0
    }

    /// The SSE payloads of `body` fed in pieces of `pieceSize` bytes, then the last unterminated one;
    /// `nil` when a line is longer than the decoder keeps.
    static func decode(_ body: [UInt8], pieceSize: Int) -> [[UInt8]]? {
        var decoder = SSEDecoder()
        var payloads: [[UInt8]] = []
        var start = 0
        while start < body.count {
            let end = min(start + pieceSize, body.count)
            guard let more = try? decoder.feed(body[start..<end]) else { return nil }
            payloads += more
            start = end
        }
        if let last = decoder.finish() { payloads.append(last) }
        return payloads
    }

    /// The contexts of a few requests, as `RequestTranslator` makes them.
    static let contexts: [TranslationContext] = {
        let tools: JSONValue = [
            ["name": "get_weather", "input_schema": [
                "type": "object",
                "properties": ["location": ["type": "string"], "days": ["type": "integer"], "metric": ["type": "boolean"]],
                "required": ["location"],
            ]],
            ["name": "Bash tool (v2)", "input_schema": ["type": "object", "properties": ["command": ["type": "string"]]]],
        ]
        let user: JSONValue = ["role": "user", "content": "Weather in Paris?"]
        let requests: [JSONValue] = [
            ["model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true, "messages": [user], "tools": tools],
            ["model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true, "messages": [user], "tools": tools, "thinking": ["type": "disabled"]],
            ["model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true, "messages": [user], "thinking": ["type": "enabled", "budget_tokens": 2048]],
            ["model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [user, ["role": "assistant", "content": "It is"]], "stop_sequences": ["</s>", "END"]],
        ]
        var contexts: [TranslationContext] = []
        for request in requests {
            for rescuesQwenMarkup in [true, false] {
                // The requests above are valid: a failure here is a broken harness, not a finding.
                let parsed = try! AnthropicRequest(json: request)
                let options = RequestTranslationOptions(rescuesQwenMarkup: rescuesQwenMarkup, fallbackMessageID: "msg_fuzz")
                contexts.append(try! RequestTranslator.translate(parsed, options: options) { _ in "Qwen/Qwen3-Coder-30B-A3B-Instruct" }.context)
            }
        }
        return contexts
    }()
}

/// The grammar of an Anthropic Messages stream, as the SDKs accumulate it.
enum StreamGrammar {
    private enum Block { case text, thinking, toolUse }

    static func check(_ events: [AnthropicStreamEvent]) {
        var started = false
        var ended = false
        var sawMessageDelta = false
        var open: (index: Int, block: Block)?
        var nextIndex = 0
        var toolInput = ""
        var output: [UInt8] = []
        for event in events {
            fuzzCheck(!ended, "an event after message_stop or error: \(event.name)")
            fuzzCheck(started || isStartOrError(event), "\(event.name) before message_start")
            event.writeSSE(into: &output)
            switch event {
            case .messageStart:
                fuzzCheck(!started, "a second message_start")
                started = true
            case .contentBlockStart(let index, let block):
                fuzzCheck(open == nil && !sawMessageDelta, "content_block_start while block \(open?.index ?? -1) is open")
                fuzzCheck(index == nextIndex, "content_block_start \(index), expected \(nextIndex)")
                nextIndex += 1
                switch block {
                case .text: open = (index, .text)
                case .thinking: open = (index, .thinking)
                case .toolUse(let id, let name, _):
                    fuzzCheck(isToolID(id), "a tool_use id clients cannot send back: \(id)")
                    fuzzCheck(!name.isEmpty, "a tool_use without a name")
                    open = (index, .toolUse)
                    toolInput = ""
                }
            case .contentBlockDelta(let index, let delta):
                guard let block = open, block.index == index else { fuzzFail("a delta for block \(index), which is not open") }
                switch (block.block, delta) {
                case (.text, .text), (.thinking, .thinking), (.thinking, .signature): break
                case (.toolUse, .inputJSON(let partial)): toolInput += partial
                default: fuzzFail("a \(delta) delta in a \(block.block) block")
                }
            case .contentBlockStop(let index):
                guard let block = open, block.index == index else { fuzzFail("content_block_stop \(index), which is not open") }
                if block.block == .toolUse, !toolInput.isEmpty {
                    fuzzCheck((try? JSONParser.parse(toolInput))?.objectValue != nil, "tool input that is not a JSON object: \(toolInput)")
                }
                open = nil
            case .messageDelta:
                fuzzCheck(open == nil && !sawMessageDelta, "message_delta with a block open or twice")
                sawMessageDelta = true
            case .messageStop:
                fuzzCheck(sawMessageDelta, "message_stop without message_delta")
                ended = true
            case .ping:
                break
            case .error:
                ended = true
            }
        }
        fuzzCheck(ended, "the stream ended without message_stop or error")
        var decoder = SSEDecoder()
        var written = (try? decoder.feed(output)) ?? []
        if let last = decoder.finish() { written.append(last) }
        fuzzCheck(written.count == events.count, "the written stream does not decode to its events")
        for (payload, event) in zip(written, events) {
            fuzzCheck((try? JSONParser.parse(payload))?["type"]?.stringValue == event.name, "an event whose data is not its JSON")
        }
    }

    private static func isStartOrError(_ event: AnthropicStreamEvent) -> Bool {
        switch event {
        case .messageStart, .error: true
        default: false
        }
    }

    /// `^[a-zA-Z0-9_-]+$`: the Messages API refuses any other `tool_use_id` when the client sends it back.
    private static func isToolID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
