// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// A backend is a peer like any other: its numbers, sizes and chunk counts are untrusted. Every test
/// here feeds the translation what a broken or hostile backend could send and pins a clean answer.
@Suite("Hostile backend: numbers, sizes and chunk counts a backend controls")
struct HostileBackendTests {
    /// An SSE stream of `count` tool-call deltas, each for a call index of its own.
    static func toolDeltaStream(count: Int, named: (Int) -> Bool) -> [UInt8] {
        var text = ""
        for index in 0..<count {
            let name = named(index) ? #","id":"call_\#(index)","type":"function","function":{"name":"f","arguments":"{\"n\":\#(index)}"}"# : #","function":{"arguments":"{\"n\":\#(index)}"}"#
            text += #"data: {"id":"chatcmpl-t","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":\#(index)\#(name)}]}}]}"# + "\n\n"
        }
        text += #"data: {"id":"chatcmpl-t","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}"# + "\n\ndata: [DONE]\n\n"
        return Array(text.utf8)
    }

    /// Decodes and translates a whole SSE stream the way the server does, in 4 KiB reads.
    static func translate(_ bytes: [UInt8], context: TranslationContext = Translate.context()) throws -> [AnthropicStreamEvent] {
        var decoder = SSEDecoder()
        var translator = StreamTranslator(context: context)
        var events: [AnthropicStreamEvent] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + 4096, bytes.count)
            for payload in try decoder.feed(bytes[start..<end]) { events += translator.consume(UpstreamStreamItem(data: payload)) }
            start = end
        }
        events += translator.endOfStream()
        return events
    }

    @Test("20,000 unnamed tool-call deltas translate (no scan of every waiting call per chunk) and open no block")
    func twentyThousandUnnamedToolDeltas() throws {
        let events = try Self.translate(Self.toolDeltaStream(count: 20_000) { _ in false })
        #expect(StreamTranslationTests.names(events) == ["message_start", "message_delta", "message_stop"])
    }

    @Test("20,000 named tool calls become 20,000 tool_use blocks in upstream order")
    func twentyThousandNamedToolCalls() throws {
        let events = try Self.translate(Self.toolDeltaStream(count: 20_000) { _ in true })
        let message = try Translate.accumulate(events)
        #expect(message.content.count == 20_000)
        #expect(message.content.last == .toolUse(id: "call_19999", name: "f", input: ["n": 19_999]))
        #expect(message.stopReason == .toolUse)
    }

    static let maximumContextError = "This model's maximum context length is 9223372036854775807 tokens. Please reduce the length of the messages."

    @Test("a context-length error with a 2^63-1-token window is a clean 400, as a body and inside a stream")
    func hugeContextLength() throws {
        let body = JSONValue.object(["error": ["message": .string(Self.maximumContextError), "type": "BadRequestError", "param": .null, "code": 400]])
        let error = UpstreamErrorMapper.map(status: 400, body: body.jsonBytes, context: nil)
        #expect(error.kind == .invalidRequest)
        #expect(error.message == "prompt is too long: 9223372036854775807 tokens > 9223372036854775807 maximum")
        guard case .error(let streamed) = UpstreamStreamItem(data: body.jsonBytes) else { Issue.record("expected an error item"); return }
        #expect(streamed == error)
        let overflow = try #require(ContextLengthOverflow(message: "This model's maximum context length is 9223372036854775807 tokens. However, you requested 9223372036854775807 tokens (9223372036854775806 in the messages, 1 in the completion)."))
        #expect(overflow.maxTokensThatFit == 1)
        #expect(ContextLengthOverflow(message: "This model's maximum context length is 99999999999999999999 tokens.") == nil)
    }

    static func usageChunk(_ usage: String) -> [UInt8] {
        Array(#"{"id":"chatcmpl-u","object":"chat.completion.chunk","choices":[],"usage":\#(usage)}"#.utf8)
    }

    @Test("usage numbers far out of range are clamped, streamed and whole, never a trap", arguments: [
        (#"{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":-9223372036854775807}}"#, AnthropicUsage(inputTokens: 10, outputTokens: 3)),
        (#"{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"prompt_tokens_details":{"cached_tokens":-9223372036854775807}}"#,
         AnthropicUsage(inputTokens: Int(Int32.max), outputTokens: Int(Int32.max))),
        (#"{"prompt_tokens":-5,"completion_tokens":1e300,"prompt_tokens_details":{"cached_tokens":9223372036854775807}}"#, AnthropicUsage(inputTokens: 0, outputTokens: Int(Int32.max))),
        (#"{"prompt_tokens":100,"completion_tokens":"many","prompt_tokens_details":{"cached_tokens":1000}}"#, AnthropicUsage(inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 100)),
    ])
    func hostileUsage(_ usage: String, _ expected: AnthropicUsage) throws {
        var translator = StreamTranslator(context: Translate.context())
        var events = translator.consume(StreamTranslationTests.chunk(content: "ok", finish: "stop"))
        events += translator.consume(UpstreamStreamItem(data: Self.usageChunk(usage)))
        #expect(events.last == .messageStop)
        #expect(translator.finalUsage == expected)
        let whole = try JSONParser.parse(Array(#"{"id":"chatcmpl-w","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":\#(usage)}"#.utf8))
        #expect(try ResponseTranslator.translate(whole, context: Translate.context()).usage == expected)
    }

    @Test("an error chunk whose code is out of every range is still an Anthropic error")
    func hugeErrorCode() {
        let payload = Array(#"{"error":{"message":"boom","code":9223372036854775807}}"#.utf8)
        guard case .error(let error) = UpstreamStreamItem(data: payload) else { Issue.record("expected an error item"); return }
        #expect(error.kind == .overloaded)
    }

    @Test("white space sent a character at a time is held in O(1) per chunk and kept between words")
    func whitespaceOneAtATime() throws {
        var items = [StreamTranslationTests.chunk(content: "a")]
        items += Array(repeating: StreamTranslationTests.chunk(content: " "), count: 20_000)
        items += [StreamTranslationTests.chunk(content: "b", finish: "stop"), .done]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        #expect(message.content == [.text("a" + String(repeating: " ", count: 20_000) + "b")])
    }

    @Test("white space past the held bound is sent in the open text block, or dropped before any block")
    func whitespaceFlood() throws {
        let flood = String(repeating: " ", count: 1 << 16)
        let floods = 2 * (1 << 20) / (1 << 16)
        var items = [StreamTranslationTests.chunk(content: "a")]
        items += Array(repeating: StreamTranslationTests.chunk(content: flood), count: floods)
        items += [StreamTranslationTests.chunk(content: "b", finish: "stop"), .done]
        let inBlock = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        #expect(inBlock.content == [.text("a" + String(repeating: " ", count: floods << 16) + "b")])

        let leading = Array(repeating: StreamTranslationTests.chunk(content: flood), count: floods) + [StreamTranslationTests.chunk(content: "b", finish: "stop"), .done]
        #expect(try Translate.accumulate(Translate.stream(leading, context: Translate.context())).content == [.text("b")])
        let prefill = try Translate.accumulate(Translate.stream(leading, context: Translate.context(prefill: true)))
        #expect(prefill.content == [.text(String(repeating: " ", count: floods << 16) + "b")])
    }

    @Test("a Qwen <tool_call> streamed a byte at a time is searched once, not rescanned per byte")
    func qwenToolCallByteByByte() throws {
        let value = String(repeating: "y", count: 100_000)
        let markup = "<tool_call>\n<function=write>\n<parameter=text>\n\(value)\n</parameter>\n</function>\n</tool_call>"
        var items = markup.map { StreamTranslationTests.chunk(content: String($0)) }
        items += [StreamTranslationTests.chunk(finish: "stop"), .done]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        guard case .toolUse(_, let name, let input)? = message.content.first else { Issue.record("expected a tool_use block"); return }
        #expect(name == "write")
        #expect(input["text"]?.stringValue == value)
    }

    @Test("a <tool_call> followed by endless white space is text, not a buffer that grows")
    func qwenToolCallEndlessWhitespace() throws {
        var items = [StreamTranslationTests.chunk(content: "<tool_call>")]
        items += Array(repeating: StreamTranslationTests.chunk(content: " "), count: 100)
        items += [StreamTranslationTests.chunk(content: "done", finish: "stop"), .done]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        #expect(message.content == [.text("<tool_call>" + String(repeating: " ", count: 100) + "done")])
    }

    @Test("tool-call arguments past the bound end the stream with an error event")
    func toolArgumentBound() {
        let piece = String(repeating: "a", count: 1 << 20)
        var translator = StreamTranslator(context: Translate.context())
        var events: [AnthropicStreamEvent] = []
        for index in 0...(StreamTranslator.maximumToolArgumentBytes >> 20) {
            events += translator.consume(StreamTranslationTests.chunk(tools: [.init(index: index, arguments: piece)]))
        }
        guard case .error(let error)? = events.last else { Issue.record("expected an error event"); return }
        #expect(error.kind == .api)
        #expect(translator.failed)
    }
}
