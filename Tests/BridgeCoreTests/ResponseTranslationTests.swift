// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// OpenAI/vLLM whole responses → Anthropic messages.
@Suite("Response translation: whole responses")
struct ResponseTranslationTests {
    static let readSchema: JSONValue = ["type": "object", "properties": ["file_path": ["type": "string"], "limit": ["type": "number"]]]

    static func response(
        content: JSONValue = .null, reasoning: JSONValue? = nil, toolCalls: [JSONValue] = [], finish: String = "stop",
        stopReason: JSONValue = .null, usage: JSONValue = ["prompt_tokens": 10, "total_tokens": 15, "completion_tokens": 5]
    ) -> JSONValue {
        var message: JSONObject = ["role": "assistant", "content": content, "tool_calls": .array(toolCalls)]
        if let reasoning { message["reasoning"] = reasoning }
        return [
            "id": "chatcmpl-5b1e0f2a-7c3d-4e8f-9a0b-1c2d3e4f5a6b", "object": "chat.completion", "created": 1773161262, "model": "Qwen/Qwen3",
            "choices": [["index": 0, "message": .object(message), "logprobs": .null, "finish_reason": .string(finish), "stop_reason": stopReason]],
            "usage": usage,
        ]
    }

    @Test("envelope: msg_ id, type, role, the client's model name, stop fields and usage")
    func envelope() throws {
        let message = try ResponseTranslator.translate(try Fixtures.json("openai/openai-response-text.json"), context: Translate.context())
        let json = message.json
        #expect(json.objectValue?.keys == ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"])
        #expect(message.id == "msg_ABfvbtVnTu5DeC4EFnRYj8mtfOM99")
        #expect(json["type"] == "message")
        #expect(json["role"] == "assistant")
        #expect(json["model"] == "claude-sonnet-4-5-20250929")
        #expect(json["content"] == [["type": "text", "text": "{\"city\":\"San Francisco\",\"temperature\":65,\"units\":\"f\"}"]])
        #expect(json["stop_reason"] == "end_turn")
        #expect(json["stop_sequence"] == .null)
        #expect(json["usage"] == ["input_tokens": 79, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 14])
        // The same keys as Anthropic's own response fixture (which has extra, optional usage fields).
        let anthropic = try Fixtures.json("anthropic/anthropic-response-max-tokens.json")
        #expect(Set(anthropic.objectValue?.keys ?? []) == Set(json.objectValue?.keys ?? []))
        #expect(anthropic["usage"]?.objectValue?.keys == json["usage"]?.objectValue?.keys)
    }

    @Test("vLLM reasoning + text + tool call become thinking → text → tool_use with a signature")
    func reasoningTextToolCall() throws {
        let message = try ResponseTranslator.translate(try Fixtures.json("vllm/vllm-response-qwen3-reasoning-tool-call.json"), context: Translate.context())
        #expect(message.content.count == 3)
        guard case .thinking(let thinking, let signature) = message.content[0] else { Issue.record("no thinking block"); return }
        #expect(thinking == "The user wants a directory listing; use Bash.")
        #expect(!signature.isEmpty)
        #expect(message.content[1] == .text("I'll list the files."))
        #expect(message.content[2] == .toolUse(id: "call_4f3a9c2b1d0e8f7a6b5c4d3e", name: "Bash", input: ["command": "ls -la"]))
        #expect(message.stopReason == .toolUse)
        #expect(message.usage == AnthropicUsage(inputTokens: 412, outputTokens: 51))
        let anthropic = try Fixtures.json("anthropic/anthropic-response-thinking-tool-use.json")
        #expect(anthropic["content"]?.arrayValue?.map { $0["type"] } == message.json["content"]?.arrayValue?.map { $0["type"] })
        #expect(anthropic["content"]?.arrayValue?[0].objectValue?.keys == message.json["content"]?.arrayValue?[0].objectValue?.keys)
    }

    @Test("reasoning_content (older vLLM) is read when reasoning is absent")
    func reasoningContentFallback() throws {
        let message = try ResponseTranslator.translate(Self.response(content: "Answer", reasoning: nil).settingReasoningContent("Old field"), context: Translate.context())
        #expect(message.content.first == .thinking(thinking: "Old field", signature: try #require(message.content.first?.signatureValue)))
    }

    @Test("vLLM 0.8 with thinking disabled put the whole answer in reasoning_content: it is shown as text")
    func thinkingDisabledBug() throws {
        let fixture = try Fixtures.json("vllm/vllm-response-qwen3-enable-thinking-false-bug-v0.8.5.json")
        let message = try ResponseTranslator.translate(fixture, context: Translate.context(thinking: .disabled))
        #expect(message.content == [.text("To compare **9.11** and **9.8** ... **9.8 is greater than 9.11.**")])
        #expect(message.id == "msg_2c6150e0b6724d1798f86861e3749d7c")
    }

    @Test("tool call arguments are parsed to objects; the OpenAI fixture's call keeps its id and key order")
    func toolCallArguments() throws {
        let message = try ResponseTranslator.translate(try Fixtures.json("openai/openai-response-tool-calls.json"), context: Translate.context())
        #expect(message.content == [.toolUse(id: "call_Y6qJ7ofLgOrBnMD5WbVAeiRV", name: "GetWeatherArgs", input: ["city": "Edinburgh", "country": "UK", "units": "c"])])
        #expect(message.stopReason == .toolUse)
        #expect(message.content[0].json.jsonString.contains(#""input":{"city":"Edinburgh","country":"UK","units":"c"}"#))
    }

    @Test("truncated tool arguments are repaired by closing them", arguments: [
        (#"{"file_path": "/repo/READ"#, #"{"file_path":"/repo/READ"}"#),
        (#"{"a": [1, 2"#, #"{"a":[1,2]}"#),
        (#"{"a": 1, "b"#, #"{"a":1}"#),
        (#"{"a": tru"#, #"{}"#),
        (#"{"a": 1.5e"#, #"{"a":1.5}"#),
        (#"{"a": "x\"#, #"{"a":"x"}"#),
        (#"{"a": {"b": null}, "c": -"#, #"{"a":{"b":null}}"#),
        ("", "{}"),
        ("   ", "{}"),
    ])
    func truncatedArgumentsRepaired(_ arguments: String, _ expected: String) throws {
        let call: JSONValue = ["id": "call_1", "type": "function", "function": ["name": "Read", "arguments": .string(arguments)]]
        let message = try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "length"), context: Translate.context())
        guard case .toolUse(_, _, let input) = message.content.first else { Issue.record("no tool_use"); return }
        #expect(input.jsonString == expected)
        #expect(message.stopReason == .maxTokens)
    }

    @Test("arguments that are not a JSON object never make an invalid tool_use", arguments: [
        ("not json at all", #"{"_invalid_arguments":"not json at all"}"#),
        (#"[1,2]"#, #"{"_invalid_arguments":"[1,2]"}"#),
        (#""{\"a\": 1}""#, #"{"a":1}"#),
        (#"{"a": 1}} trailing"#, #"{"a":1}"#),
        (#"{"a": 1 "b": 2}"#, #"{"a":1}"#),
    ])
    func invalidArgumentsFallback(_ arguments: String, _ expected: String) throws {
        let call: JSONValue = ["id": "call_1", "type": "function", "function": ["name": "Read", "arguments": .string(arguments)]]
        let message = try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "tool_calls"), context: Translate.context())
        guard case .toolUse(_, _, let input) = message.content.first else { Issue.record("no tool_use"); return }
        #expect(input.jsonString == expected)
    }

    @Test("stop_reason: stop→end_turn, length→max_tokens, tool_calls→tool_use, content_filter→refusal", arguments: [
        ("stop", AnthropicStopReason.endTurn), ("length", .maxTokens), ("content_filter", .refusal), ("tool_calls", .endTurn),
    ])
    func stopReasons(_ finish: String, _ expected: AnthropicStopReason) throws {
        // tool_calls with no tool call at all is reported as end_turn: there is nothing for the client to run.
        let message = try ResponseTranslator.translate(Self.response(content: "x", finish: finish), context: Translate.context())
        #expect(message.stopReason == expected)
    }

    @Test("stop_reason stop_sequence when vLLM's stop_reason is one of the request's stop strings")
    func stopSequence() throws {
        let message = try ResponseTranslator.translate(Self.response(content: "<answer>42", stopReason: "</answer>"), context: Translate.context(stop: ["</answer>"]))
        let expected = try Fixtures.json("anthropic/anthropic-response-stop-sequence.json")
        #expect(message.json["stop_reason"] == expected["stop_reason"])
        #expect(message.json["stop_sequence"] == expected["stop_sequence"])
        #expect(message.json["content"] == expected["content"])
        // A stop token id (an integer) or a string the client did not ask for is an ordinary end_turn.
        #expect(try ResponseTranslator.translate(Self.response(content: "x", stopReason: 151645), context: Translate.context(stop: ["</answer>"])).stopReason == .endTurn)
        #expect(try ResponseTranslator.translate(Self.response(content: "x", stopReason: "other"), context: Translate.context(stop: ["</answer>"])).stopSequence == nil)
    }

    @Test("stop_reason is forced to tool_use when a tool_use block is present (but max_tokens stays)")
    func forcedToolUse() throws {
        let call: JSONValue = ["id": "call_1", "type": "function", "function": ["name": "Read", "arguments": "{}"]]
        #expect(try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "stop"), context: Translate.context()).stopReason == .toolUse)
        #expect(try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "stop", stopReason: "</x>"), context: Translate.context(stop: ["</x>"])).stopSequence == nil)
        #expect(try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "length"), context: Translate.context()).stopReason == .maxTokens)
    }

    @Test("usage: cached tokens are cache reads and are taken out of input_tokens")
    func usageCache() throws {
        let usage: JSONValue = ["prompt_tokens": 1000, "total_tokens": 1050, "completion_tokens": 50, "prompt_tokens_details": ["cached_tokens": 800]]
        let message = try ResponseTranslator.translate(Self.response(content: "x", usage: usage), context: Translate.context())
        #expect(message.usage == AnthropicUsage(inputTokens: 200, outputTokens: 50, cacheCreationInputTokens: 0, cacheReadInputTokens: 800))
        let noDetails = try ResponseTranslator.translate(Self.response(content: "x", usage: ["prompt_tokens": 7, "completion_tokens": 2, "prompt_tokens_details": .null]), context: Translate.context())
        #expect(noDetails.usage == AnthropicUsage(inputTokens: 7, outputTokens: 2))
    }

    @Test("tool names shortened for the backend are restored in the response")
    func restoredToolName() throws {
        var context = Translate.context()
        let backendName = context.toolNames.backendName(for: "server.tool")
        let call: JSONValue = ["id": "call_1", "type": "function", "function": ["name": .string(backendName), "arguments": "{}"]]
        let message = try ResponseTranslator.translate(Self.response(toolCalls: [call], finish: "tool_calls"), context: context)
        #expect(message.content == [.toolUse(id: "call_1", name: "server.tool", input: [:])])
    }

    @Test("tool ids with characters Anthropic rejects are made safe; missing ids are generated")
    func toolIDs() throws {
        let calls: [JSONValue] = [
            ["id": "chatcmpl-tool-abc.def", "type": "function", "function": ["name": "A", "arguments": "{}"]],
            ["type": "function", "function": ["name": "B", "arguments": "{}"]],
        ]
        let message = try ResponseTranslator.translate(Self.response(toolCalls: calls, finish: "tool_calls"), context: Translate.context())
        #expect(message.content.map(\.toolID) == ["chatcmpl-tool-abc_def", "toolu_5b1e0f2a7c3d4e8f9a0b1c2d3e4f5a6b_1"])
    }

    @Test("leading white space of the answer is dropped, but not when continuing a prefill")
    func leadingWhitespace() throws {
        #expect(try ResponseTranslator.translate(Self.response(content: "\n\nHello"), context: Translate.context()).content == [.text("Hello")])
        #expect(try ResponseTranslator.translate(Self.response(content: " world"), context: Translate.context(prefill: true)).content == [.text(" world")])
        #expect(try ResponseTranslator.translate(Self.response(content: "  "), context: Translate.context()).content == [])
    }

    @Test("an error body or a body without choices is an Anthropic error")
    func errorBodies() throws {
        #expect(throws: AnthropicError.self) {
            try ResponseTranslator.translate(try Fixtures.json("vllm/vllm-error-auto-tool-choice-not-enabled.json"), context: Translate.context())
        }
        #expect(throws: AnthropicError(.api, "The backend's response has no choices")) {
            try ResponseTranslator.translate(["id": "x", "choices": []], context: Translate.context())
        }
    }
}

extension JSONValue {
    func settingReasoningContent(_ text: String) -> JSONValue {
        guard var object = objectValue, var choices = object["choices"]?.arrayValue, var choice = choices[0].objectValue,
              var message = choice["message"]?.objectValue
        else { return self }
        message["reasoning_content"] = .string(text)
        choice["message"] = .object(message)
        choices[0] = .object(choice)
        object["choices"] = .array(choices)
        return .object(object)
    }
}

extension AnthropicResponseBlock {
    var signatureValue: String? {
        if case .thinking(_, let signature) = self { return signature }
        return nil
    }

    var toolID: String? {
        if case .toolUse(let id, _, _) = self { return id }
        return nil
    }
}
