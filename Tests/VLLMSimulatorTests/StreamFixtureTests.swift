// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
import VLLMSimulator

/// Streams compared byte for byte with the vLLM fixtures (ids, `created` and token-estimate-dependent
/// usage numbers normalised).
@Suite("streams match the vLLM fixtures")
struct StreamFixtureTests {
    @Test("scripted text: role chunk, content chunks, finish chunk, usage chunk, [DONE]")
    func textStopWithUsage() async throws {
        let expected = try Fixtures.text("vllm-stream-text-stop-with-usage.sse")
        try await withSimulator { server in
            let directive: JSONValue = ["text": ["Hello", "! How can I help?"], "prompt_tokens": 25]
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, includeUsage: true)
            )
            #expect(response.status == 200)
            #expect(response.complete)
            #expect(SSE.normalizeUsage(response.text) == SSE.normalizeUsage(expected))
            // Two content tokens plus end-of-sequence.
            #expect(response.events.dropLast().last?.hasSuffix(#""usage":{"prompt_tokens":25,"total_tokens":28,"completion_tokens":3}}"#) == true)
        }
    }

    @Test("reasoning, content and two parallel tool calls stream as the qwen3_coder parser emits them")
    func reasoningTextTwoToolCalls() async throws {
        let expected = try Fixtures.text("vllm-qwen3coder-stream-reasoning-text-two-tool-calls.sse")
        try await withSimulator { server in
            let directive: JSONValue = [
                "reasoning": ["The user wants to see", " the README. I'll call Read.\n"],
                "text": ["\n\n", "I'll read the README."],
                "tool_calls": [
                    ["name": "Read", "arguments": ["file_path": "/repo/README.md", "limit": 50]],
                    ["name": "Glob", "arguments": ["pattern": "**/*.md"]],
                ],
                "prompt_tokens": 1840,
            ]
            let tools: JSONValue = [
                ["type": "function", "function": ["name": "Read", "parameters": ["type": "object"]]],
                ["type": "function", "function": ["name": "Glob", "parameters": ["type": "object"]]],
            ]
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, includeUsage: true, extra: ["tools": tools, "tool_choice": "auto"])
            )
            #expect(SSE.normalizeUsage(response.text) == SSE.normalizeUsage(expected))
            // Distinct ids per call.
            let ids = response.text.matches(of: /"id":"(call_[0-9a-f]{24})"/).map { String($0.output.1) }
            #expect(ids.count == 2 && ids[0] != ids[1])
        }
    }

    @Test("a mid-stream error event in Python json.dumps spacing, then [DONE]")
    func midstreamError() async throws {
        let expected = try Fixtures.text("vllm-stream-midstream-error.sse")
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["midstream_error": "Internal server error"], stream: true, includeUsage: true)
            )
            #expect(response.status == 200)
            #expect(SSE.normalize(response.text) == SSE.normalize(expected))
        }
    }

    @Test("old error format: the mid-stream error is the flat object")
    func midstreamErrorOldFormat() async throws {
        try await withSimulator(SimulatorConfiguration(errorFormat: .old)) { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["text": ["Hi"], "midstream_error": "boom é"], stream: true)
            )
            #expect(response.events.count == 4)
            #expect(response.events[1].contains(#""delta":{"content":"Hi"}"#))
            #expect(response.events[2] == #"{"object": "error", "message": "boom \u00e9", "type": "InternalServerError", "param": null, "code": 500}"#)
            #expect(response.events[3] == "[DONE]")
        }
    }

    @Test("length truncation inside reasoning: the last token's chunk carries finish_reason length")
    func reasoningTruncatedLength() async throws {
        let expected = try Fixtures.text("vllm-qwen3-stream-reasoning-truncated-length.sse")
        try await withSimulator { server in
            let directive: JSONValue = [
                "reasoning": ["Let me think about this carefully", " step by", " step."], "text": "Done.", "prompt_tokens": 25,
            ]
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, includeUsage: true, extra: ["max_tokens": 2])
            )
            #expect(SSE.normalizeUsage(response.text) == SSE.normalizeUsage(expected))
        }
    }

    @Test("--reasoning-field both reproduces the v0.11 dual-field chunks")
    func bothReasoningFields() async throws {
        let expected = SSE.events(try Fixtures.text("vllm-qwen3-reasoning-stream-both-fields-v0.11.sse"))
        let configuration = SimulatorConfiguration(models: ["qwen3-thinking"], reasoningField: .both)
        try await withSimulator(configuration) { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(model: "qwen3-thinking", directive: ["reasoning": ["好的", "，", "用户"], "text": "Hi"], stream: true)
            )
            let events = response.events.map(SSE.normalize)
            #expect(Array(events.prefix(4)) == expected.map(SSE.normalize))
        }
    }

    @Test("--reasoning-field reasoning matches the v0.17 reasoning-only chunks")
    func reasoningOnlyField() async throws {
        let expected = SSE.events(try Fixtures.text("vllm-qwen3-reasoning-stream-reasoning-only-v0.17.sse"))
        try await withSimulator(SimulatorConfiguration(models: ["local-qwen3.5-27b"])) { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(model: "local-qwen3.5-27b", directive: ["reasoning": ["Thinking", " Process"]], stream: true)
            )
            let events = response.events.map(SSE.normalize)
            #expect(Array(events[1...2]) == expected.map(SSE.normalize))
        }
    }

    @Test("--reasoning-field reasoning_content uses the old field name only")
    func reasoningContentField() async throws {
        try await withSimulator(SimulatorConfiguration(reasoningField: .reasoningContent)) { server in
            let directive: JSONValue = ["reasoning": "Hmm.", "text": "Yes."]
            let stream = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, stream: true)
            )
            #expect(stream.events[0].contains(#""delta":{"role":"assistant","content":""}"#))
            #expect(stream.events[1].contains(#""delta":{"reasoning_content":"Hmm"}"#))
            #expect(!stream.text.contains(#""reasoning":"#))
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive)
            )
            #expect(whole.text.contains(#""tool_calls":[],"reasoning_content":"Hmm."},"logprobs""#))
        }
    }
}
