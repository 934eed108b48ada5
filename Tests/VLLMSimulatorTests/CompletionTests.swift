// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
import VLLMSimulator

/// Non-streaming bodies, stop strings, max_tokens, tool-call edge cases and scripted errors.
@Suite("chat completions")
struct CompletionTests {
    /// Blanks the values that differ per run in a `chat.completion` body.
    static func normalized(_ value: JSONValue) -> String { SSE.normalizeUsage(value.jsonString) }

    @Test("non-streaming reasoning + text + tool call body equals the vLLM fixture")
    func nonStreamingToolCall() async throws {
        let expected = try Fixtures.json("vllm-response-qwen3-reasoning-tool-call.json")
        try await withSimulator { server in
            let directive: JSONValue = [
                "reasoning": "The user wants a directory listing; use Bash.",
                "text": "I'll list the files.\n\n",
                "tool_calls": [["name": "Bash", "arguments": ["command": "ls -la"]]],
                "prompt_tokens": 412,
            ]
            let tools: JSONValue = [["type": "function", "function": ["name": "Bash", "parameters": ["type": "object"]]]]
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, extra: ["tools": tools])
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(Self.normalized(try response.json()) == Self.normalized(expected))
        }
    }

    @Test("no directive: the default answer, tool_calls [] and reasoning null")
    func defaultAnswer() async throws {
        try await withSimulator { server in
            let body = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest()).json()
            let message = body["choices"]?.arrayValue?.first?["message"]
            #expect(message?["content"] == "Hello! This is vllm-sim.")
            #expect(message?["tool_calls"] == [])
            #expect(message?["reasoning"] == .null)
            #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(body["id"]?.stringValue?.wholeMatch(of: /chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/) != nil)
            #expect(body["model"] == .string(SimulatorConfiguration.defaultModel))
        }
    }

    @Test("a stop string cuts the text before it: finish_reason stop, stop_reason the string")
    func stopString() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["text": "Hello world. STOP here"]
            let stream = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, extra: ["stop": ["never", "STOP"]])
            )
            let events = stream.events
            #expect(events.count == 6)  // role, Hello, " world", ".", final, [DONE]
            #expect(events[4].contains(#""delta":{"content":" "},"logprobs":null,"finish_reason":"stop","stop_reason":"STOP","token_ids":null}"#))
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, extra: ["stop": "STOP"])
            ).json()
            let choice = whole["choices"]?.arrayValue?.first
            #expect(choice?["message"]?["content"] == "Hello world. ")
            #expect(choice?["finish_reason"] == "stop")
            #expect(choice?["stop_reason"] == "STOP")
        }
    }

    @Test("max_tokens truncates to that many tokens with finish_reason length")
    func lengthLimit() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["text": "one two three four five"]
            let stream = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, includeUsage: true, extra: ["max_tokens": 3])
            )
            let events = stream.events
            #expect(events.count == 6)  // role, one, two, three+finish, usage, [DONE]
            #expect(events[3].contains(#""delta":{"content":" three"},"logprobs":null,"finish_reason":"length","stop_reason":null"#))
            #expect(events[4].contains(#""completion_tokens":3}"#))
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, extra: ["max_completion_tokens": 3])
            ).json()
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == "one two three")
            #expect(whole["choices"]?.arrayValue?.first?["finish_reason"] == "length")
            #expect(whole["usage"]?["completion_tokens"] == 3)
        }
    }

    @Test("usage overrides: prompt_tokens and cached_tokens")
    func usageOverrides() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["text": ["A"], "prompt_tokens": 1000, "cached_tokens": 768]
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive)
            ).json()
            #expect(whole["usage"]?.jsonString == #"{"prompt_tokens":1000,"total_tokens":1002,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":768}}"#)
            let stream = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: directive, stream: true, includeUsage: true)
            )
            #expect(stream.events.dropLast().last?.hasSuffix(
                #""choices":[],"usage":{"prompt_tokens":1000,"total_tokens":1002,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":768}}}"#
            ) == true)
        }
    }

    @Test("stream_options.continuous_usage_stats puts running usage on every chunk")
    func continuousUsage() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(
                    directive: ["text": ["A", "B"], "prompt_tokens": 7], stream: true,
                    extra: ["stream_options": ["include_usage": true, "continuous_usage_stats": true]]
                )
            )
            let events = response.events
            #expect(events.count == 6)
            #expect(events[0].hasSuffix(#""finish_reason":null}],"usage":{"prompt_tokens":7,"total_tokens":7,"completion_tokens":0}}"#))
            #expect(events[2].hasSuffix(#""token_ids":null}],"usage":{"prompt_tokens":7,"total_tokens":9,"completion_tokens":2}}"#))
            #expect(events[3].contains(#""finish_reason":"stop""#))
            #expect(events[3].hasSuffix(#""usage":{"prompt_tokens":7,"total_tokens":10,"completion_tokens":3}}"#))
            #expect(events[4].contains(#""choices":[],"usage""#))
        }
    }

    @Test("continuous_usage_stats without include_usage puts usage nowhere, as vLLM's should_include_usage")
    func continuousUsageNeedsIncludeUsage() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(
                    directive: ["text": ["A"], "prompt_tokens": 7], stream: true,
                    extra: ["stream_options": ["continuous_usage_stats": true]]
                )
            )
            #expect(!response.events.isEmpty)
            #expect(response.events.allSatisfy { !$0.contains(#""usage""#) })
        }
    }

    @Test("include_reasoning false hides reasoning but still counts its tokens")
    func hiddenReasoning() async throws {
        try await withSimulator { server in
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["reasoning": ["a", "b"], "text": ["c"]], extra: ["include_reasoning": false])
            ).json()
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["reasoning"] == .null)
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == "c")
            #expect(whole["usage"]?["completion_tokens"] == 5)  // a, b, </think>, c, EOS
        }
    }

    @Test("finish override and no_finish")
    func finishOverrides() async throws {
        try await withSimulator { server in
            let overridden = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["text": "Hi", "finish": "length"], stream: true)
            )
            #expect(overridden.text.contains(#""finish_reason":"length","stop_reason":null"#))
            let unfinished = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["text": "Hi there", "no_finish": true], stream: true, includeUsage: true)
            )
            #expect(!unfinished.text.contains(#""finish_reason":""#))
            #expect(unfinished.events.last == "[DONE]")
            #expect(unfinished.events.count == 5)  // role, Hi, " there", usage, [DONE]
        }
    }

    @Test("tool calls without tools in the request come back as raw qwen3_coder XML content")
    func toolCallsWithoutParser() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["tool_calls": [["name": "Bash", "arguments": ["command": "ls", "timeout": 5]]]]
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive)
            ).json()
            let message = whole["choices"]?.arrayValue?.first?["message"]
            #expect(message?["content"] == "<tool_call>\n<function=Bash>\n<parameter=command>\nls\n</parameter>\n<parameter=timeout>\n5\n</parameter>\n</function>\n</tool_call>")
            #expect(message?["tool_calls"] == [])
            #expect(whole["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
        }
    }

    @Test("raw_content is emitted verbatim as content (rescue tests)")
    func rawContent() async throws {
        try await withSimulator { server in
            let raw = "<think>\nhidden\n</think>\n\nAnswer"
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: ["raw_content": .string(raw)])
            ).json()
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == .string(raw))
        }
    }

    @Test("non-string tool arguments are JSON with Python spacing; the non-streaming arguments string is their join")
    func nestedArguments() async throws {
        try await withSimulator { server in
            let directive: JSONValue = [
                "tool_calls": [["name": "Edit", "arguments": ["edits": [["old": "a", "new": "é"]], "dry": false]]],
            ]
            let tools: JSONValue = [["type": "function", "function": ["name": "Edit"]]]
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, extra: ["tools": tools])
            ).json()
            let call = whole["choices"]?.arrayValue?.first?["message"]?["tool_calls"]?.arrayValue?.first
            #expect(call?["function"]?["arguments"] == #"{"edits": [{"old": "a", "new": "é"}], "dry": false}"#)
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == .null)
            #expect(whole["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        }
    }

    @Test("on_tool_result picks the answer once tool results follow the user message")
    func onToolResult() async throws {
        try await withSimulator { server in
            let directive: JSONValue = [
                "tool_calls": [["name": "Bash", "arguments": ["command": "ls"]]],
                "on_tool_result": [["text": "First result seen."], ["text": "Second result seen."]],
            ]
            var messages: [JSONValue] = [["role": "user", "content": .string("List [[sim:\(directive.jsonString)]]")]]
            for round in 1...2 {
                messages.append(["role": "assistant", "content": nil, "tool_calls": [[
                    "id": "call_1", "type": "function", "function": ["name": "Bash", "arguments": #"{"command": "ls"}"#],
                ]]])
                messages.append(["role": "tool", "tool_call_id": "call_1", "content": "a.txt"])
                let whole = try await RawHTTPClient.post(
                    port: server.port, path: "/v1/chat/completions",
                    json: ["model": .string(SimulatorConfiguration.defaultModel), "messages": .array(messages)]
                ).json()
                let expected: JSONValue = round == 1 ? "First result seen." : "Second result seen."
                #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == expected)
            }
        }
    }

    @Test("a directive in a text part of the last user message is found; earlier user messages are ignored")
    func directiveInTextPart() async throws {
        try await withSimulator { server in
            let messages: JSONValue = [
                ["role": "user", "content": #"old [[sim:{"text":"old"}]]"#],
                ["role": "assistant", "content": "ok"],
                ["role": "user", "content": [
                    ["type": "text", "text": "<system-reminder>x</system-reminder>"],
                    ["type": "text", "text": #"go [[sim:{"text":"new ]] still"}]]"#],
                ]],
            ]
            let whole = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: ["model": .string(SimulatorConfiguration.defaultModel), "messages": messages]
            ).json()
            #expect(whole["choices"]?.arrayValue?.first?["message"]?["content"] == "new ]] still")
        }
    }

    @Test("a malformed directive is a 400 that names the problem")
    func badDirective() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: ["txt": "typo"])
            )
            #expect(response.status == 400)
            #expect(response.text.contains("unknown field 'txt'"))
        }
    }

    @Test("scripted error: the HTTP status and vLLM's error body, before any streaming")
    func scriptedError() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["error": ["status": 503, "message": "Engine overloaded"]], stream: true)
            )
            #expect(response.status == 503)
            #expect(response.header("content-type") == "application/json")
            #expect(response.text == #"{"error":{"message":"Engine overloaded","type":"ServiceUnavailableError","param":null,"code":503}}"#)
        }
    }
}
