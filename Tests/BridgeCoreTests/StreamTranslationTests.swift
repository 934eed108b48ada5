// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// OpenAI/vLLM chunk streams → Anthropic SSE events.
@Suite("Stream translation: OpenAI chunks → Anthropic events")
struct StreamTranslationTests {
    static func names(_ events: [AnthropicStreamEvent]) -> [String] { events.map(\.name) }

    static func chunk(
        reasoning: String? = nil, content: String? = nil, tools: [ChatCompletionChunk.ToolCallDelta] = [],
        finish: String? = nil, stop: JSONValue? = nil, usage: ChatCompletionChunk.Usage? = nil
    ) -> UpstreamStreamItem {
        .chunk(ChatCompletionChunk(id: "chatcmpl-abc", reasoning: reasoning, content: content, toolCalls: tools, finishReason: finish, stopReason: stop, usage: usage))
    }

    @Test("text stream: the event sequence of Anthropic's own text stream, usage held for the usage chunk")
    func textStream() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-stream-text-stop-with-usage.sse"), context: Translate.context())
        let expected = try Fixtures.anthropicEvents("anthropic/anthropic-stream-text.sse").map(\.0)
        #expect(Self.names(events) == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
        #expect(Set(Self.names(events)) == Set(expected))
        #expect(events[3] == .contentBlockDelta(index: 0, delta: .text("Hello")))
        #expect(events[4] == .contentBlockDelta(index: 0, delta: .text("! How can I help?")))
        #expect(events[6] == .messageDelta(stopReason: .endTurn, stopSequence: nil, usage: AnthropicUsage(inputTokens: 25, outputTokens: 8)))
    }

    @Test("the events' JSON has the shape of Anthropic's events, key for key")
    func eventShapes() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-qwen3coder-stream-reasoning-text-two-tool-calls.sse"), context: Translate.context())
        let reference = try Fixtures.anthropicEvents("anthropic/anthropic-stream-thinking-tool-use.sse")
            + Fixtures.anthropicEvents("anthropic/anthropic-stream-thinking-then-text.sse")
        func shape(_ value: JSONValue) -> String {
            let type = value["type"]?.stringValue ?? ""
            let sub = value["delta"]?["type"]?.stringValue ?? value["content_block"]?["type"]?.stringValue ?? ""
            return "\(type)/\(sub)"
        }
        var referenceKeys: [String: [String]] = [:]
        for (_, json) in reference { referenceKeys[shape(json)] = json.objectValue?.keys }
        for event in events {
            let json = event.json
            guard let keys = referenceKeys[shape(json)] else { continue }
            #expect(Set(json.objectValue?.keys ?? []) == Set(keys), "\(shape(json))")
            if let message = json["message"], let referenceMessage = reference.first(where: { $0.0 == "message_start" })?.1["message"] {
                #expect(Set(message.objectValue?.keys ?? []) == Set(referenceMessage.objectValue?.keys ?? []))
            }
            if let block = json["content_block"], let referenceBlock = reference.first(where: { shape($0.1) == shape(json) })?.1["content_block"] {
                #expect(Set(block.objectValue?.keys ?? []) == Set(referenceBlock.objectValue?.keys ?? []))
            }
        }
    }

    @Test("reasoning → thinking block with signature_delta before its stop; text after it; then two tool_use blocks")
    func reasoningTextTwoTools() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-qwen3coder-stream-reasoning-text-two-tool-calls.sse"), context: Translate.context())
        #expect(Self.names(events) == [
            "message_start",
            "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        guard case .contentBlockDelta(0, .signature(let signature)) = events[5] else { Issue.record("no signature_delta before the thinking block's stop"); return }
        #expect(!signature.isEmpty)
        #expect(events[8] == .contentBlockDelta(index: 1, delta: .text("I'll read the README.")))
        #expect(events[10] == .contentBlockStart(index: 2, block: .toolUse(id: "call_9f1c2b3a4d5e6f708192a3b4", name: "Read", input: [:])))
        let message = try Translate.accumulate(events)
        #expect(message.content.count == 4)
        #expect(message.content[2] == .toolUse(id: "call_9f1c2b3a4d5e6f708192a3b4", name: "Read", input: ["file_path": "/repo/README.md", "limit": 50]))
        #expect(message.content[3] == .toolUse(id: "call_0a1b2c3d4e5f60718293a4b5", name: "Glob", input: ["pattern": "**/*.md"]))
        #expect(message.stopReason == .toolUse)
        #expect(message.usage == AnthropicUsage(inputTokens: 1840, outputTokens: 72))
    }

    @Test("OpenAI's single tool-call stream: every argument fragment becomes an input_json_delta")
    func singleToolCall() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("openai/openai-chunk-stream-tool-call-single.sse"), context: Translate.context())
        let message = try Translate.accumulate(events)
        #expect(message.content == [.toolUse(id: "call_c91SqDXlYFuETYv8mUHzz6pp", name: "GetWeatherArgs", input: ["city": "Edinburgh", "country": "UK", "units": "c"])])
        let fragments = events.compactMap { event -> String? in
            if case .contentBlockDelta(_, .inputJSON(let text)) = event { return text }
            return nil
        }
        #expect(fragments.count > 5)
        #expect(fragments.joined() == #"{"city":"Edinburgh","country":"UK","units":"c"}"#)
    }

    @Test("OpenAI's parallel tool-call stream: two tool_use blocks, each with its own arguments")
    func parallelToolCalls() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("openai/openai-chunk-stream-tool-calls-parallel.sse"), context: Translate.context())
        let message = try Translate.accumulate(events)
        #expect(message.content.count == 2)
        #expect(message.content.allSatisfy { $0.toolID != nil })
        #expect(message.stopReason == .toolUse)
    }

    @Test("interleaved parallel fragments are buffered until their block opens: none lost, none misattributed")
    func interleavedParallelFragments() throws {
        let items: [UpstreamStreamItem] = [
            Self.chunk(tools: [.init(index: 0, id: "call_a", name: "A", arguments: "{\"x\": ")]),
            Self.chunk(tools: [.init(index: 1, id: "call_b", name: "B", arguments: "{\"y\"")]),
            Self.chunk(tools: [.init(index: 1, arguments: ": 2}")]),
            Self.chunk(tools: [.init(index: 0, arguments: "1}")]),
            Self.chunk(finish: "tool_calls"),
            Self.chunk(usage: .init(promptTokens: 1, completionTokens: 1)),
            .done,
        ]
        let events = Translate.stream(items, context: Translate.context())
        let message = try Translate.accumulate(events)
        #expect(message.content == [.toolUse(id: "call_a", name: "A", input: ["x": 1]), .toolUse(id: "call_b", name: "B", input: ["y": 2])])
        // Block 0 closes before block 1 opens: blocks never overlap.
        let starts = events.enumerated().filter { $0.element.name == "content_block_start" }.map(\.offset)
        let stops = events.enumerated().filter { $0.element.name == "content_block_stop" }.map(\.offset)
        #expect(stops[0] < starts[1])
    }

    @Test("a tool call with a negative index is completed like any other (the index is the backend's, not a marker)")
    func negativeToolCallIndex() throws {
        let items: [UpstreamStreamItem] = [
            Self.chunk(tools: [.init(index: -1, id: "call_a", name: "get_weather", arguments: "{\"location\": \"Par")]),
            Self.chunk(finish: "tool_calls"),
            .done,
        ]
        let events = Translate.stream(items, context: Translate.context())
        let partial = events.compactMap { event -> String? in
            if case .contentBlockDelta(_, .inputJSON(let text)) = event { return text }
            return nil
        }.joined()
        #expect(try JSONParser.parse(partial) == ["location": "Par"])
        #expect(try Translate.accumulate(events).content == [.toolUse(id: "call_a", name: "get_weather", input: ["location": "Par"])])
    }

    @Test("argument fragments in the opening chunk and in the finish chunk are kept")
    func fragmentsInOpeningAndFinishChunks() throws {
        let items: [UpstreamStreamItem] = [
            Self.chunk(tools: [.init(index: 0, id: "call_a", name: "Read", arguments: "{\"file_path\": ")]),
            Self.chunk(tools: [.init(index: 0, arguments: "\"/a\"")], finish: "tool_calls"),
            Self.chunk(tools: [], usage: .init(promptTokens: 1, completionTokens: 1)),
            .done,
        ]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        #expect(message.content == [.toolUse(id: "call_a", name: "Read", input: ["file_path": "/a"])])
    }

    @Test("empty content and empty tool_calls deltas are ignored")
    func emptyDeltas() throws {
        let items: [UpstreamStreamItem] = [Self.chunk(content: ""), Self.chunk(content: "Hi", tools: []), Self.chunk(content: ""), Self.chunk(finish: "stop"), .done]
        let events = Translate.stream(items, context: Translate.context())
        #expect(Self.names(events) == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
    }

    @Test("message_delta waits for the usage chunk and carries cumulative usage")
    func usageHeld() throws {
        var translator = StreamTranslator(context: Translate.context())
        _ = translator.consume(Self.chunk(content: "Hi"))
        let atFinish = translator.consume(Self.chunk(finish: "stop"))
        #expect(!Self.names(atFinish).contains("message_delta"))
        let atUsage = translator.consume(Self.chunk(usage: .init(promptTokens: 100, completionTokens: 3, cachedTokens: 60)))
        #expect(atUsage == [.messageDelta(stopReason: .endTurn, stopSequence: nil, usage: AnthropicUsage(inputTokens: 40, outputTokens: 3, cacheReadInputTokens: 60)), .messageStop])
        #expect(translator.consume(.done).isEmpty)
        #expect(translator.isFinished && !translator.failed)
    }

    @Test("a stream that finished without a usage chunk still ends at [DONE]")
    func doneWithoutUsage() throws {
        let events = Translate.stream([Self.chunk(content: "Hi"), Self.chunk(finish: "stop"), .done], context: Translate.context())
        #expect(Self.names(events).suffix(2) == ["message_delta", "message_stop"])
    }

    @Test("message_start carries the message envelope with usage fields and the client's model")
    func messageStart() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-stream-text-stop-with-usage.sse"), context: Translate.context())
        let json = events[0].json
        #expect(json["message"]?["model"] == "claude-sonnet-4-5-20250929")
        #expect(json["message"]?["content"] == [])
        #expect(json["message"]?["stop_reason"] == .null)
        #expect(json["message"]?["usage"]?.objectValue?.keys == ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"])
        #expect(json["message"]?["id"] == "msg_5b1e0f2a7c3d4e8f9a0b1c2d3e4f5a6b")
    }

    @Test("reasoning truncated by length: the thinking block is closed with its signature, stop_reason max_tokens")
    func reasoningTruncated() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-qwen3-stream-reasoning-truncated-length.sse"), context: Translate.context())
        let message = try Translate.accumulate(events)
        #expect(message.content.count == 1)
        #expect(message.content[0].signatureValue?.isEmpty == false)
        #expect(message.stopReason == .maxTokens)
        #expect(message.usage.outputTokens == 16)
    }

    @Test("vLLM 0.11 sends reasoning and reasoning_content together; 0.17 only reasoning: both read once")
    func reasoningFieldEras() throws {
        for fixture in ["vllm/vllm-qwen3-reasoning-stream-both-fields-v0.11.sse", "vllm/vllm-qwen3-reasoning-stream-reasoning-only-v0.17.sse"] {
            var translator = StreamTranslator(context: Translate.context())
            var events: [AnthropicStreamEvent] = []
            for item in try Fixtures.upstreamItems(fixture) { events += translator.consume(item) }
            let thinking = events.compactMap { event -> String? in
                if case .contentBlockDelta(_, .thinking(let text)) = event { return text }
                return nil
            }.joined()
            #expect(thinking == (fixture.contains("0.11") ? "好的，用户" : "Thinking Process"))
        }
    }

    @Test("an upstream error chunk ends the stream with an Anthropic error event")
    func midStreamError() throws {
        let events = Translate.stream(try Fixtures.upstreamItems("vllm/vllm-stream-midstream-error.sse"), context: Translate.context())
        #expect(Self.names(events) == ["message_start", "error"])
        guard case .error(let error) = events[1] else { return }
        #expect(error.kind == .overloaded)
        #expect(error.message.contains("Internal server error"))
        #expect(events[1].sseBytes.starts(with: Array("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",".utf8)))
    }

    @Test("an upstream that ends without finish_reason ends with an error, never a truncated success", arguments: [true, false])
    func noFinishReason(_ sendsDone: Bool) throws {
        var items: [UpstreamStreamItem] = [Self.chunk(content: "Hello")]
        if sendsDone { items.append(.done) }
        let events = Translate.stream(items, context: Translate.context())
        #expect(Self.names(events).last == "error")
        #expect(!Self.names(events).contains("message_stop"))
    }

    @Test("a stop string reported by vLLM gives stop_reason stop_sequence in message_delta")
    func streamStopSequence() throws {
        let events = Translate.stream([Self.chunk(content: "<answer>42"), Self.chunk(finish: "stop", stop: "</answer>"), .done], context: Translate.context(stop: ["</answer>"]))
        #expect(events.contains(.messageDelta(stopReason: .stopSequence, stopSequence: "</answer>", usage: AnthropicUsage())))
    }

    @Test("text split around white space keeps inner spaces and drops only the leading ones")
    func whitespaceAcrossChunks() throws {
        let items: [UpstreamStreamItem] = [Self.chunk(content: "\n\n"), Self.chunk(content: "Hi "), Self.chunk(content: " "), Self.chunk(content: "there\n"), Self.chunk(finish: "stop"), .done]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context()))
        #expect(message.content == [.text("Hi  there\n")])
    }

    @Test("with thinking disabled, reasoning shown as text and the answer after it stay separate paragraphs")
    func reasoningAsTextThenContent() throws {
        let items: [UpstreamStreamItem] = [Self.chunk(reasoning: "hmm"), Self.chunk(content: "visible"), Self.chunk(finish: "stop"), .done]
        let message = try Translate.accumulate(Translate.stream(items, context: Translate.context(thinking: .disabled)))
        #expect(message.content == [.text("hmm\n\nvisible")])
    }

    @Test("abort ends an open stream with the given error")
    func abort() {
        var translator = StreamTranslator(context: Translate.context())
        _ = translator.consume(Self.chunk(content: "Hi"))
        #expect(translator.abort(with: AnthropicError(.overloaded, "shutting down")) == [.error(AnthropicError(.overloaded, "shutting down"))])
        #expect(translator.failed)
    }
}
