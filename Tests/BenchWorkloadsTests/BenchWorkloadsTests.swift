// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads
import BridgeCore
import BridgeJSON
import Testing

/// The benchmark inputs stay what the benchmark report says they are: a Claude Code-size request the
/// bridge accepts and translates completely, and vLLM streams that translate into the scripted answer.
/// (No timing here: core-bench measures, these tests only keep its inputs valid.)
@Suite("Benchmark workloads")
struct BenchWorkloadsTests {
    static let workload = ClaudeCodeWorkload()

    static func translate(_ workload: ClaudeCodeWorkload) throws -> TranslatedRequest {
        let request = try AnthropicRequest(json: try JSONParser.parse(workload.body))
        return try RequestTranslator.translate(request) { (_: String) throws(AnthropicError) in VLLMStreamWorkload.backendModel }
    }

    /// Every content block of the request's messages, with the role of its message.
    static func blocks(_ body: JSONValue) -> [(role: String, block: JSONValue)] {
        (body["messages"]?.arrayValue ?? []).flatMap { message in
            (message["content"]?.arrayValue ?? []).map { (message["role"]?.stringValue ?? "", $0) }
        }
    }

    @Test("sizes are Claude Code's: 50–70 KB of system prompt and tools, 130–170 KB of history")
    func sizes() {
        let sizes = Self.workload.sizes
        #expect((50_000...70_000).contains(sizes.systemAndToolsBytes), "\(sizes)")
        #expect((130_000...170_000).contains(sizes.historyBytes), "\(sizes)")
        #expect(sizes.bodyBytes > sizes.systemAndToolsBytes + sizes.historyBytes)
        #expect(sizes.bodyBytes == Self.workload.body.count)
        #expect((18...22).contains(Self.workload.shape.toolCount))
    }

    @Test("the same parameters build the same bytes")
    func deterministic() {
        #expect(ClaudeCodeWorkload().body == Self.workload.body)
        #expect(VLLMStreamWorkload.text(tokens: 50).events == VLLMStreamWorkload.text(tokens: 50).events)
    }

    @Test("the body parses and has the shape of a Claude Code main request")
    func shape() throws {
        let body = try JSONParser.parse(Self.workload.body)
        #expect(body.objectValue?.keys == ["model", "max_tokens", "stream", "system", "messages", "tools", "metadata", "thinking"])
        #expect(body["system"]?.arrayValue?.count == 3)
        #expect(body["system"]?.arrayValue?.first?["text"]?.stringValue?.hasPrefix("x-anthropic-billing-header:") == true)
        #expect(body["system"]?.arrayValue?.last?["cache_control"] == ["type": "ephemeral"])
        #expect(body["metadata"]?["user_id"]?.stringValue?.contains("session_id") == true)
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 31_999])
        let names = body["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        for name in ["Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "TodoWrite"] { #expect(names.contains(name)) }
        #expect(body["tools"]?.arrayValue?.allSatisfy { $0["input_schema"]?["$schema"] != nil } == true)

        let blocks = Self.blocks(body)
        let shape = Self.workload.shape
        #expect(body["messages"]?.arrayValue?.count == shape.messageCount)
        #expect(blocks.filter { $0.block["type"] == "tool_use" }.count == shape.toolUseCount)
        #expect(blocks.filter { $0.block["type"] == "tool_result" }.count == shape.toolResultCount)
        #expect(blocks.filter { $0.block["is_error"] == true }.count == shape.errorResultCount)
        #expect(blocks.filter { $0.block["type"] == "thinking" }.count == shape.thinkingBlockCount)
        #expect(shape.errorResultCount > 0 && shape.thinkingBlockCount > 0)
        // Several tool calls in one assistant turn, answered together.
        let parallel = body["messages"]?.arrayValue?.contains { message in
            (message["content"]?.arrayValue?.filter { $0["type"] == "tool_result" }.count ?? 0) > 1
        }
        #expect(parallel == true)
        let last = body["messages"]?.arrayValue?.last
        #expect(last?["role"] == "user")
        #expect(last?["content"]?.arrayValue?.last?["text"]?.stringValue == Self.workload.finalUserText)
    }

    @Test("the bridge accepts it and translates every message, call and result")
    func translates() throws {
        let translated = try Self.translate(Self.workload)
        let shape = Self.workload.shape
        #expect(translated.warnings.isEmpty)
        let messages = translated.body["messages"]?.arrayValue ?? []
        #expect(messages.count == shape.expectedOpenAIMessageCount)
        #expect(messages.filter { $0["role"] == "system" }.count == 1)
        #expect(messages.first?["content"]?.stringValue?.contains("x-anthropic-billing-header") == false)
        #expect(messages.filter { $0["role"] == "assistant" }.count == shape.assistantMessageCount)
        #expect(messages.filter { $0["role"] == "tool" }.count == shape.toolUseCount)
        #expect(messages.filter { $0["role"] == "user" }.count == shape.userTextMessageCount)
        #expect(messages.filter { $0["role"] == "tool" && $0["content"]?.stringValue?.hasPrefix("Error: ") == true }.count == shape.errorResultCount)
        // Every call is answered by its own result.
        let callIDs = messages.flatMap { $0["tool_calls"]?.arrayValue ?? [] }.compactMap { $0["id"]?.stringValue }
        let resultIDs = messages.compactMap { $0["tool_call_id"]?.stringValue }
        #expect(callIDs == resultIDs)
        #expect(messages.last?["content"]?.stringValue == Self.workload.finalUserText)
        #expect(translated.body["tools"]?.arrayValue?.count == shape.toolCount)
        #expect(translated.body["model"] == .string(VLLMStreamWorkload.backendModel))
        #expect(translated.body["max_tokens"] == 32_000)
        #expect(translated.body["stream"] == true)
        #expect(translated.body["stream_options"] == ["include_usage": true, "continuous_usage_stats": true])
        #expect(translated.body["chat_template_kwargs"] == ["enable_thinking": true])
    }

    @Test("parameters: model, stream, max_tokens and the final user text land in the body")
    func parameters() throws {
        let directive = #"[[sim:{"text":"ok","ttft_ms":20}]]"#
        let workload = ClaudeCodeWorkload(model: "claude-haiku-4-5-20251001", stream: false, maxTokens: 512, finalUserText: directive)
        let body = try JSONParser.parse(workload.body)
        #expect(body["model"] == "claude-haiku-4-5-20251001")
        #expect(body["stream"] == false)
        #expect(body["max_tokens"] == 512)
        #expect(body["thinking"] == ["type": "disabled"])
        #expect(workload.sizes.historyBytes == Self.workload.sizes.historyBytes)
        let translated = try Self.translate(workload)
        #expect(translated.body["stream"] == nil)
        #expect(translated.body["messages"]?.arrayValue?.last?["content"] == .string(directive))
    }

    /// Feeds each event through the decoder and the translator, as the daemon does per upstream read.
    static func stream(_ workload: VLLMStreamWorkload, context: TranslationContext) throws -> (events: [AnthropicStreamEvent], message: AnthropicMessage?) {
        var decoder = SSEDecoder()
        var translator = StreamTranslator(context: context)
        var events: [AnthropicStreamEvent] = []
        for bytes in workload.events {
            for payload in try decoder.feed(bytes) { events += translator.consume(UpstreamStreamItem(data: payload)) }
        }
        events += translator.endOfStream()
        var accumulator = MessageAccumulator()
        for event in events { try accumulator.add(event) }
        return (events, accumulator.message)
    }

    @Test("the text stream is vLLM's chunk format and translates into the scripted text")
    func textStream() throws {
        let workload = VLLMStreamWorkload.text(tokens: 400)
        #expect(workload.textPieces.count == 400)
        #expect(workload.events.count == 400 + 4)  // role, tokens, final, usage, [DONE]
        #expect(workload.events.allSatisfy { $0.starts(with: "data: ".utf8) && $0.suffix(2).elementsEqual("\n\n".utf8) })
        #expect(workload.events.last == Array("data: [DONE]\n\n".utf8))
        let context = try Self.translate(Self.workload).context
        let (events, message) = try Self.stream(workload, context: context)
        #expect(events.first?.name == "message_start")
        #expect(events.last == .messageStop)
        #expect(events.filter { $0.name == "content_block_delta" }.count >= 300)
        #expect(message?.content == [.text(workload.text)])
        #expect(message?.stopReason == .endTurn)
        #expect(message?.usage == AnthropicUsage(inputTokens: 52_817 - 51_200, outputTokens: 401, cacheReadInputTokens: 51_200))
        #expect(message?.model == Self.workload.model)
    }

    @Test("the tool-call stream translates into the text and the scripted Edit call, streamed and whole")
    func toolCallStream() throws {
        let workload = VLLMStreamWorkload.toolCall(textTokens: 40)
        let call = try #require(workload.toolCall)
        let context = try Self.translate(Self.workload).context
        let (_, message) = try Self.stream(workload, context: context)
        let trimmed = String(workload.text.reversed().drop { $0.isWhitespace }.reversed())
        guard case .toolUse(_, let name, let input)? = message?.content.last else {
            Issue.record("no tool_use block: \(String(describing: message))")
            return
        }
        #expect(message?.content.first == .text(trimmed))
        #expect(name == call.name)
        #expect(input == .object(call.arguments))
        #expect(message?.stopReason == .toolUse)

        let whole = try ResponseTranslator.translate(try JSONParser.parse(workload.responseBody), context: context)
        #expect(whole.content == message?.content)
    }
}
