// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// `message_start` reports the real prompt size from the first chunk (vLLM's
/// `continuous_usage_stats`), and `message_delta` the final split with cached tokens.
@Suite("True usage from the first event")
struct TrueUsageTests {
    /// The chunks vLLM sends with `stream_options: {include_usage, continuous_usage_stats}`: usage on
    /// every chunk (the role chunk has `prompt_tokens` and 0 completion tokens), cached tokens only in
    /// the final usage chunk (`choices: []`).
    static let continuousStream = """
        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":1234,"total_tokens":1234,"completion_tokens":0}}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null,"token_ids":null}],"usage":{"prompt_tokens":1234,"total_tokens":1235,"completion_tokens":1}}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null,"token_ids":null}],"usage":{"prompt_tokens":1234,"total_tokens":1236,"completion_tokens":2}}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1234,"total_tokens":1236,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1000}}}

        data: [DONE]


        """

    static func items(_ text: String) throws -> [UpstreamStreamItem] {
        var decoder = SSEDecoder()
        return try decoder.feed(Array(text.utf8)).map { UpstreamStreamItem(data: $0) }
    }

    @Test("message_start carries prompt_tokens of the role chunk; message_delta the final split (input = prompt − cached)")
    func continuousUsage() throws {
        var translator = StreamTranslator(context: Translate.context())
        var events: [AnthropicStreamEvent] = []
        for item in try Self.items(Self.continuousStream) { events += translator.consume(item) }
        guard case .messageStart(let start) = events.first else { Issue.record("no message_start first"); return }
        #expect(start.usage == AnthropicUsage(inputTokens: 1234))
        #expect(translator.startUsageSource == .backend)
        let deltas = events.compactMap { event -> AnthropicUsage? in
            if case .messageDelta(_, _, let usage) = event { return usage }
            return nil
        }
        // Not finished at the finish chunk (it carries usage too): the final usage chunk has the cache.
        #expect(deltas == [AnthropicUsage(inputTokens: 234, outputTokens: 2, cacheReadInputTokens: 1000)])
        #expect(events.last == .messageStop)
    }

    @Test("a backend that reports no usage in its first chunk: message_start carries the estimate, labelled")
    func estimateFallback() throws {
        var context = Translate.context()
        context.estimatedPromptTokens = 777
        var translator = StreamTranslator(context: context)
        let events = translator.consume(.chunk(ChatCompletionChunk(id: "chatcmpl-x", content: "")))
        #expect(events == [.messageStart(AnthropicMessage(id: "msg_x", model: context.clientModel, content: [], stopReason: nil, stopSequence: nil, usage: AnthropicUsage(inputTokens: 777)))])
        #expect(translator.startUsageSource == .estimate)
        // No usage ever: message_delta repeats what message_start said.
        _ = translator.consume(.chunk(ChatCompletionChunk(content: "Hi", finishReason: "stop")))
        let end = translator.consume(.done)
        #expect(end.first == .messageDelta(stopReason: .endTurn, stopSequence: nil, usage: AnthropicUsage(inputTokens: 777)))
    }

    @Test("no usage and no estimate: message_start says 0 and the source is none")
    func nothingKnown() throws {
        var translator = StreamTranslator(context: Translate.context())
        _ = translator.consume(.chunk(ChatCompletionChunk(id: "chatcmpl-x", content: "")))
        #expect(translator.startUsageSource == .none)
    }

    @Test("non-streaming answers are unchanged: usage from the response, input = prompt − cached")
    func wholeResponse() throws {
        let response: JSONValue = [
            "id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [["index": 0, "message": ["role": "assistant", "content": "Hi"], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 50, "completion_tokens": 2, "total_tokens": 52, "prompt_tokens_details": ["cached_tokens": 20]],
        ]
        let message = try ResponseTranslator.translate(response, context: Translate.context())
        #expect(message.usage == AnthropicUsage(inputTokens: 30, outputTokens: 2, cacheReadInputTokens: 20))
    }
}

/// `max_tokens` against the backend's window: never a value that cannot fit, never more than asked.
@Suite("Output budget against the context window")
struct OutputBudgetTests {
    @Test("window unknown: unchanged")
    func unknownWindow() {
        #expect(OutputBudget.decide(requested: 32000, window: nil, estimatedPromptTokens: 10) == .unchanged)
        #expect(OutputBudget.decide(requested: nil, window: 32768, estimatedPromptTokens: 10) == .unchanged)
    }

    @Test("asked for at least the window (Claude Code opus class, 128000): max_tokens left out")
    func omitted() {
        #expect(OutputBudget.decide(requested: 128_000, window: 32768, estimatedPromptTokens: 12000) == .omitted)
        #expect(OutputBudget.decide(requested: 32768, window: 32768, estimatedPromptTokens: 0) == .omitted)
    }

    @Test("sonnet class (32000) on a 32k window: clamped to the room the prompt leaves")
    func clamped() {
        #expect(OutputBudget.decide(requested: 32000, window: 32768, estimatedPromptTokens: 12000) == .clamped(20768))
    }

    @Test("fits next to the prompt: unchanged")
    func fits() {
        #expect(OutputBudget.decide(requested: 32000, window: 131_072, estimatedPromptTokens: 12000) == .unchanged)
        #expect(OutputBudget.decide(requested: 64, window: 32768, estimatedPromptTokens: 32000) == .unchanged)
    }

    @Test("an estimate that leaves no room sends the request as asked: vLLM's refusal names the sizes")
    func noRoom() {
        #expect(OutputBudget.decide(requested: 1000, window: 32768, estimatedPromptTokens: 40000) == .unchanged)
        #expect(OutputBudget.decide(requested: 1000, window: 32768, estimatedPromptTokens: Int.max) == .unchanged)
    }

    @Test("the prompt estimate: 3 bytes a token uncalibrated; calibrated by an earlier body with 5 % and 64 tokens of margin")
    func estimate() {
        #expect(PromptSizeEstimate.tokens(bodyBytes: 30000, calibratedBy: nil) == 10000)
        let sample = PromptSizeEstimate.Sample(bodyBytes: 40000, promptTokens: 10000)
        #expect(PromptSizeEstimate.tokens(bodyBytes: 48000, calibratedBy: sample) == 12000 + 600 + 64)
        let dense = PromptSizeEstimate.Sample(bodyBytes: 1, promptTokens: 1000)
        #expect(PromptSizeEstimate.tokens(bodyBytes: 1000, calibratedBy: dense) == 1050 + 64)  // at most a token a byte
        #expect(PromptSizeEstimate.tokens(bodyBytes: Int.max, calibratedBy: dense) == Int.max / 2)
    }

    @Test("Claude Code's session id comes from metadata.user_id, JSON or legacy form")
    func sessionID() {
        let json: JSONValue = ["metadata": ["user_id": #"{"device_id":"ab","account_uuid":"","session_id":"0b6e3da1-3bc3-44d2-875b-2a9146dddd15"}"#]]
        #expect(ClientSession.id(in: json) == "0b6e3da1-3bc3-44d2-875b-2a9146dddd15")
        let legacy: JSONValue = ["metadata": ["user_id": "user_abc_account__session_1f2e"]]
        #expect(ClientSession.id(in: legacy) == "1f2e")
        #expect(ClientSession.id(in: ["metadata": ["user_id": "plain"]]) == nil)
        #expect(ClientSession.id(in: ["metadata": ["user_id": .string("user_x_session_" + String(repeating: "a", count: 500))]]) == nil)
    }
}
