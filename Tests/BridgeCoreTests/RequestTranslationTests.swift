// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// Anthropic → OpenAI request rules, one test (at least) per rule, numbered as in the translation spec.
@Suite("Request translation: Anthropic → OpenAI")
struct RequestTranslationTests {
    static func user(_ content: JSONValue) -> JSONValue { ["role": "user", "content": content] }
    static func assistant(_ content: JSONValue) -> JSONValue { ["role": "assistant", "content": content] }
    static func body(_ messages: [JSONValue], extra: JSONObject = [:]) -> JSONValue {
        var object: JSONObject = ["model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "messages": .array(messages)]
        for member in extra.members { object[member.key] = member.value }
        return .object(object)
    }

    // MARK: Rule 1

    @Test("rule 1: model goes through the alias resolver; the client's name is kept for the response")
    func rule1ModelAlias() throws {
        let request = try AnthropicRequest(json: Self.body([Self.user("hi")]))
        var asked: String?
        let translated = try RequestTranslator.translate(request) { (name: String) throws(AnthropicError) in
            asked = name
            return "Intel/Qwen3.6-35B-A3B-int4-AutoRound"
        }
        #expect(asked == "claude-sonnet-4-5-20250929")
        #expect(translated.body["model"] == "Intel/Qwen3.6-35B-A3B-int4-AutoRound")
        #expect(translated.context.clientModel == "claude-sonnet-4-5-20250929")
    }

    @Test("rule 1: a resolver that does not know the model fails the request with its error")
    func rule1UnknownModel() throws {
        let request = try AnthropicRequest(json: Self.body([Self.user("hi")]))
        #expect(throws: AnthropicError(.notFound, "model: claude-sonnet-4-5-20250929")) {
            try RequestTranslator.translate(request) { (name: String) throws(AnthropicError) -> String in
                throw AnthropicError(.notFound, "model: \(name)")
            }
        }
    }

    // MARK: Rule 2

    @Test("rule 2: system blocks become one leading system message; Claude Code's billing header block is dropped")
    func rule2SystemBlocks() throws {
        let translated = try Translate.request(try Fixtures.json("claude-code/claude-code-main-request-shape.json"))
        let messages = JSONValue.object(translated.body).messageList
        #expect(messages.filter { $0["role"] == "system" }.count == 1)
        #expect(messages.first?["role"] == "system")
        let system = try #require(messages.first?["content"]?.stringValue)
        #expect(!system.contains("x-anthropic-billing-header"))
        #expect(system.hasPrefix("You are Claude Code, Anthropic's official CLI for Claude.\n\nYou are an interactive agent"))
    }

    @Test("rule 2: a string system prompt becomes the system message as is")
    func rule2SystemString() throws {
        let translated = try Translate.request(Self.body([Self.user("hi")], extra: ["system": "Be brief."]))
        #expect(JSONValue.object(translated.body).messageList.first == ["role": "system", "content": "Be brief."])
    }

    @Test("rule 2: two requests that differ only in the billing nonce translate identically (prefix cache stays warm)")
    func rule2BillingNonceDoesNotChangePrompt() throws {
        func translated(_ nonce: String) throws -> [UInt8] {
            let system: JSONValue = [["type": "text", "text": .string("x-anthropic-billing-header: cc_version=2.1.226.\(nonce); cc_entrypoint=cli;")], ["type": "text", "text": "Prompt"]]
            return JSONValue.object(try Translate.request(Self.body([Self.user("hi")], extra: ["system": system])).body).jsonBytes
        }
        #expect(try translated("ab9") == translated("f00"))
    }

    // MARK: Rule 3

    @Test("rule 3: a system turn mid-conversation joins the user's text, never a second system message")
    func rule3MidConversationSystem() throws {
        let messages: [JSONValue] = [
            Self.user("first"), Self.assistant("ok"),
            ["role": "system", "content": "Reminder: be careful."],
            Self.user("second"),
        ]
        let translated = JSONValue.object(try Translate.request(Self.body(messages, extra: ["system": "S"])).body).messageList
        #expect(translated.map { $0["role"]?.stringValue ?? "" } == ["system", "user", "assistant", "user"])
        #expect(translated[3]["content"] == "Reminder: be careful.\nsecond")
        #expect(translated[0]["content"] == "S")
    }

    @Test("rule 3: system and developer turns before the conversation join the leading system message")
    func rule3LeadingSystemTurns() throws {
        let messages: [JSONValue] = [["role": "developer", "content": [["type": "text", "text": "Dev rules."]]], Self.user("hi")]
        let translated = JSONValue.object(try Translate.request(Self.body(messages, extra: ["system": "S"])).body).messageList
        #expect(translated.count == 2)
        #expect(translated[0] == ["role": "system", "content": "S\nDev rules."])
    }

    // MARK: Rule 4

    @Test("rule 4: text-only user content is a string; several text blocks are joined with a newline")
    func rule4TextOnly() throws {
        let translated = try Translate.request(Self.body([Self.user([["type": "text", "text": "a"], ["type": "text", "text": "b", "cache_control": ["type": "ephemeral"]]])]))
        #expect(JSONValue.object(translated.body).messageList.last == ["role": "user", "content": "a\nb"])
    }

    @Test("rule 4: images make content parts; base64 becomes a data: URL, a URL image stays a URL")
    func rule4Images() throws {
        let fixture = try Fixtures.json("anthropic/anthropic-request-all-fields.json")
        var object = try #require(fixture.objectValue)
        // The fixture's PDF document is refused by rule 12; test the images without it.
        var first = try #require(object["messages"]?.arrayValue?.first?.objectValue)
        first["content"] = .array(Array(try #require(first["content"]?.arrayValue).prefix(3)))
        object["messages"] = .array([.object(first)])
        let translated = JSONValue.object(try Translate.request(.object(object)).body).messageList
        #expect(translated.last == [
            "role": "user",
            "content": [
                ["type": "text", "text": "What is in this image and this PDF?"],
                ["type": "image_url", "image_url": ["url": "data:image/png;base64,iVBORw0KGgo..."]],
                ["type": "image_url", "image_url": ["url": "https://example.com/cat.jpg"]],
            ],
        ])
    }

    // MARK: Rule 5

    @Test("rule 5: assistant text → content, tool_use → tool_calls with JSON text arguments, thinking → reasoning and reasoning_content")
    func rule5Assistant() throws {
        let fixture = try Fixtures.json("anthropic/anthropic-request-all-fields.json")
        var object = try #require(fixture.objectValue)
        object["messages"] = .array([Self.user("hi"), try #require(object["messages"]?.arrayValue?[1])])
        let translated = JSONValue.object(try Translate.request(.object(object)).body).messageList
        #expect(translated[2] == [
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [[
                "id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                "function": ["name": "get_weather", "arguments": "{\"location\":\"Paris\"}"],
            ]],
            "reasoning": "I should look up the weather.",
            "reasoning_content": "I should look up the weather.",
        ])
        #expect(!JSONValue.object(try Translate.request(.object(object)).body).jsonString.contains("\"signature\""))
    }

    @Test("rule 5: thinking is replayed in the assistant's reasoning fields (signature ignored), redacted_thinking dropped, both fields carry the same text")
    func rule5ThinkingReplayed() throws {
        let messages: [JSONValue] = [
            Self.user("a"),
            Self.assistant([
                ["type": "thinking", "thinking": "First idea.", "signature": "c2lnbmF0dXJl"],
                ["type": "redacted_thinking", "data": "ZW5jcnlwdGVk"],
                ["type": "thinking", "thinking": "Second idea.", "signature": "c2ln"],
                ["type": "text", "text": "Answer."],
            ]),
            Self.user("b"),
        ]
        let translated = try Translate.request(Self.body(messages))
        let assistant = JSONValue.object(translated.body).messageList[1]
        #expect(assistant["reasoning"] == "First idea.\nSecond idea.")
        #expect(assistant["reasoning_content"] == "First idea.\nSecond idea.")
        #expect(assistant["content"] == "Answer.")
        let text = JSONValue.object(translated.body).jsonString
        #expect(!text.contains("ZW5jcnlwdGVk") && !text.contains("c2lnbmF0dXJl"))
        #expect(translated.body["chat_template_kwargs"] == nil)
        #expect(translated.warnings.isEmpty)
    }

    @Test("rule 5: preserve_thinking adds chat_template_kwargs.preserve_thinking next to enable_thinking")
    func rule5PreserveThinking() throws {
        var body = try #require(Self.body([Self.user("a")]).objectValue)
        body["thinking"] = ["type": "enabled", "budget_tokens": 2048]
        let preserved = try RequestTranslator.translate(AnthropicRequest(json: .object(body), endpoint: .messages), options: RequestTranslationOptions(preservesThinking: true)) { (_: String) throws(AnthropicError) in "m" }
        #expect(preserved.body["chat_template_kwargs"] == ["enable_thinking": true, "preserve_thinking": true])
        let plain = try RequestTranslator.translate(AnthropicRequest(json: .object(body), endpoint: .messages)) { (_: String) throws(AnthropicError) in "m" }
        #expect(plain.body["chat_template_kwargs"] == ["enable_thinking": true])
    }

    @Test("rule 5: an assistant turn that only thought is left out")
    func rule5ThinkingOnlyTurn() throws {
        let messages: [JSONValue] = [Self.user("a"), Self.assistant([["type": "thinking", "thinking": "hm", "signature": "s"]]), Self.user("b")]
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList
        #expect(translated == [["role": "user", "content": "a\nb"]])
    }

    // MARK: Rule 6

    @Test("rule 6: several tool results in one turn become tool messages in order, before the turn's text")
    func rule6SeveralToolResults() throws {
        let messages: [JSONValue] = [
            Self.user("weather?"),
            Self.assistant([
                ["type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": ["city": "Paris"]],
                ["type": "tool_use", "id": "toolu_B", "name": "get_weather", "input": ["city": "Rome"]],
                ["type": "tool_use", "id": "toolu_C", "name": "get_time", "input": [:]],
            ]),
            Self.user([
                ["type": "text", "text": "Here you go."],
                ["type": "tool_result", "tool_use_id": "toolu_B", "content": "20C"],
                ["type": "tool_result", "tool_use_id": "toolu_A", "content": [["type": "text", "text": "15C"], ["type": "text", "text": "windy"]]],
                ["type": "tool_result", "tool_use_id": "toolu_C", "content": "12:00"],
            ]),
        ]
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList
        #expect(Array(translated[2...]) == [
            ["role": "tool", "tool_call_id": "toolu_B", "content": "20C"],
            ["role": "tool", "tool_call_id": "toolu_A", "content": "15C\nwindy"],
            ["role": "tool", "tool_call_id": "toolu_C", "content": "12:00"],
            ["role": "user", "content": "Here you go."],
        ])
    }

    @Test("rule 6: the tool-result follow-up of the SDK fixture translates to assistant tool_calls then a tool message")
    func rule6Fixture() throws {
        let translated = JSONValue.object(try Translate.request(try Fixtures.json("anthropic/anthropic-request-tool-result-followup.json")).body).messageList
        #expect(translated.count == 3)
        #expect(translated[1]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == "{\"location\":\"San Francisco, CA\",\"units\":\"f\"}")
        #expect(translated[2] == [
            "role": "tool", "tool_call_id": "toolu_01LRanfq6DmHn1yDTB4d1SAh",
            "content": "{\"location\": \"San Francisco, CA\", \"temperature\": \"68\\u00b0F\", \"condition\": \"Sunny\"}",
        ])
    }

    @Test("rule 6: is_error marks the content; missing content is empty; images move to a following user message")
    func rule6ErrorMissingAndImages() throws {
        let messages: [JSONValue] = [
            Self.user("go"),
            Self.assistant([
                ["type": "tool_use", "id": "t1", "name": "Read", "input": [:]],
                ["type": "tool_use", "id": "t2", "name": "Read", "input": [:]],
                ["type": "tool_use", "id": "t3", "name": "Shot", "input": [:]],
            ]),
            Self.user([
                ["type": "tool_result", "tool_use_id": "t1", "content": [["type": "text", "text": "file not found"]], "is_error": true],
                ["type": "tool_result", "tool_use_id": "t2"],
                ["type": "tool_result", "tool_use_id": "t3", "content": [
                    ["type": "text", "text": "screenshot"],
                    ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "AAAA"]],
                ]],
            ]),
        ]
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList
        #expect(translated[2] == ["role": "tool", "tool_call_id": "t1", "content": "Error: file not found"])
        #expect(translated[3] == ["role": "tool", "tool_call_id": "t2", "content": ""])
        #expect(translated[4] == ["role": "tool", "tool_call_id": "t3", "content": "screenshot"])
        #expect(translated[5] == ["role": "user", "content": [["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]]]])
    }

    // MARK: Rule 7

    @Test("rule 7: a tool_use with no tool_result gets a placeholder tool message")
    func rule7MissingResult() throws {
        let messages: [JSONValue] = [
            Self.user("go"),
            Self.assistant([["type": "tool_use", "id": "t1", "name": "A", "input": [:]], ["type": "tool_use", "id": "t2", "name": "B", "input": [:]]]),
            Self.user([["type": "tool_result", "tool_use_id": "t2", "content": "ok"], ["type": "text", "text": "next"]]),
        ]
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList
        #expect(translated[2] == ["role": "tool", "tool_call_id": "t2", "content": "ok"])
        #expect(translated[3] == ["role": "tool", "tool_call_id": "t1", "content": "No result was provided for this tool call."])
        #expect(translated[4] == ["role": "user", "content": "next"])
    }

    @Test("rule 7: a tool_result that answers no tool_use becomes user text")
    func rule7OrphanResult() throws {
        let messages: [JSONValue] = [Self.user([["type": "tool_result", "tool_use_id": "ghost", "content": "42"], ["type": "text", "text": "hi"]])]
        let translated = try Translate.request(Self.body(messages))
        #expect(JSONValue.object(translated.body).messageList == [["role": "user", "content": "Result of tool call ghost:\n42\nhi"]])
        #expect(translated.warnings.contains { $0.contains("ghost") })
    }

    @Test("rule 7: empty and duplicate tool ids are replaced, and their results follow the replacement")
    func rule7EmptyAndDuplicateIDs() throws {
        let messages: [JSONValue] = [
            Self.user("go"),
            Self.assistant([["type": "tool_use", "id": "dup", "name": "A", "input": [:]], ["type": "tool_use", "id": "", "name": "B", "input": [:]]]),
            Self.user([["type": "tool_result", "tool_use_id": "dup", "content": "a"], ["type": "tool_result", "tool_use_id": "", "content": "b"]]),
            Self.assistant([["type": "tool_use", "id": "dup", "name": "C", "input": [:]]]),
            Self.user([["type": "tool_result", "tool_use_id": "dup", "content": "c"]]),
        ]
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList
        let firstIDs = translated[1]["tool_calls"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" }
        #expect(firstIDs == ["dup", "toolu_bridge_1"])
        #expect(translated[2] == ["role": "tool", "tool_call_id": "dup", "content": "a"])
        #expect(translated[3] == ["role": "tool", "tool_call_id": "toolu_bridge_1", "content": "b"])
        #expect(translated[4]["tool_calls"]?.arrayValue?.first?["id"] == "toolu_bridge_2")
        #expect(translated[5] == ["role": "tool", "tool_call_id": "toolu_bridge_2", "content": "c"])
    }

    // MARK: Rule 8

    @Test("rule 8: tools become function tools with parameters = input_schema, exactly")
    func rule8Tools() throws {
        let fixture = try Fixtures.json("anthropic/anthropic-request-tools.json")
        let translated = try Translate.request(fixture)
        let schema = try #require(fixture["tools"]?.arrayValue?.first?["input_schema"])
        #expect(translated.body["tools"] == [[
            "type": "function",
            "function": [
                "name": "get_weather",
                "description": "Lookup the weather for a given city in either celsius or fahrenheit",
                "parameters": schema,
            ],
        ]])
    }

    @Test("rule 8: long or invalid tool names are shortened deterministically and restored in responses")
    func rule8ToolNames() throws {
        let long = "mcp__very_long_server_name__" + String(repeating: "x", count: 60)
        let dotted = "server.tool/name"
        let tools: JSONValue = .array([long, dotted].map { ["name": .string($0), "input_schema": ["type": "object"]] })
        let messages: [JSONValue] = [Self.user("go"), Self.assistant([["type": "tool_use", "id": "t", "name": .string(dotted), "input": [:]]]), Self.user([["type": "tool_result", "tool_use_id": "t", "content": "ok"]])]
        let translated = try Translate.request(Self.body(messages, extra: ["tools": tools, "tool_choice": ["type": "tool", "name": .string(long)]]))
        let names = translated.body["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue } ?? []
        #expect(names.count == 2)
        for name in names {
            #expect(name.count <= 64)
            #expect(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        }
        #expect(names[0] != names[1])
        #expect(translated.body["tool_choice"]?["function"]?["name"]?.stringValue == names[0])
        #expect(JSONValue.object(translated.body).messageList[1]["tool_calls"]?.arrayValue?.first?["function"]?["name"]?.stringValue == names[1])
        #expect(translated.context.toolNames.clientName(for: names[0]) == long)
        #expect(translated.context.toolNames.clientName(for: names[1]) == dotted)
        #expect(ToolNameMap.backendName(for: long) == names[0])
        #expect(ToolNameMap.backendName(for: "Bash") == "Bash")
    }

    @Test("rule 8: Anthropic server tools are dropped with a warning")
    func rule8ServerTools() throws {
        let tools: JSONValue = [
            ["type": "web_search_20250305", "name": "web_search", "max_uses": 5],
            ["type": "bash_20250124", "name": "bash"],
            ["type": "text_editor_20250124", "name": "str_replace_editor"],
            ["type": "custom", "name": "Read", "input_schema": ["type": "object"]],
        ]
        let translated = try Translate.request(Self.body([Self.user("hi")], extra: ["tools": tools]))
        #expect(translated.body["tools"]?.arrayValue?.count == 1)
        #expect(translated.warnings.filter { $0.contains("server tool") }.count == 3)
    }

    // MARK: Rule 9

    @Test("rule 9: tool_choice maps auto/any/tool/none, and disable_parallel_tool_use to parallel_tool_calls:false")
    func rule9ToolChoice() throws {
        let variants = try #require(try Fixtures.json("anthropic/anthropic-tool-choice-variants.json").arrayValue)
        let expected: [(JSONValue, JSONValue?)] = [
            ("auto", nil), ("auto", false), ("required", nil), ("required", false),
            (["type": "function", "function": ["name": "get_weather"]], nil),
            (["type": "function", "function": ["name": "get_weather"]], false),
            ("none", nil),
        ]
        let tools: JSONValue = [["name": "get_weather", "input_schema": ["type": "object"]]]
        for (variant, (choice, parallel)) in zip(variants, expected) {
            let translated = try Translate.request(Self.body([Self.user("hi")], extra: ["tools": tools, "tool_choice": variant]))
            #expect(translated.body["tool_choice"] == choice)
            #expect(translated.body["parallel_tool_calls"] == parallel)
        }
        let openAIForms = try #require(try Fixtures.json("openai/openai-tool-choice-variants.json").arrayValue)
        for (choice, _) in expected { #expect(openAIForms.contains(choice)) }
    }

    // MARK: Rule 10

    @Test("rule 10: max_tokens, temperature, top_p, top_k, stop and stream with include_usage and continuous_usage_stats")
    func rule10SamplingAndStream() throws {
        let translated = try Translate.request(try Fixtures.json("anthropic/anthropic-request-all-fields.json").removingPDF())
        #expect(translated.body["max_tokens"] == 4096)
        #expect(translated.body["temperature"] == .number("1.0"))
        #expect(translated.body["top_p"] == .number("0.95"))
        #expect(translated.body["top_k"] == 40)
        #expect(translated.body["stop"] == ["</answer>"])
        #expect(translated.body["stream"] == true)
        #expect(translated.body["stream_options"] == ["include_usage": true, "continuous_usage_stats": true])
        #expect(translated.context.stopSequences == ["</answer>"])
    }

    @Test("rule 10: a request that does not stream sends no stream fields")
    func rule10NoStream() throws {
        let translated = try Translate.request(Self.body([Self.user("hi")]))
        #expect(translated.body["stream"] == nil)
        #expect(translated.body["stream_options"] == nil)
    }

    // MARK: Rule 11

    @Test("rule 11: thinking enabled/adaptive/disabled set chat_template_kwargs.enable_thinking; absent leaves the backend default")
    func rule11Thinking() throws {
        let variants = try #require(try Fixtures.json("anthropic/anthropic-thinking-config-variants.json").arrayValue)
        let expected: [Bool] = [true, false, true, true]
        for (variant, enabled) in zip(variants, expected) {
            let translated = try Translate.request(Self.body([Self.user("hi")], extra: ["thinking": variant]))
            #expect(translated.body["chat_template_kwargs"] == ["enable_thinking": .bool(enabled)])
        }
        #expect(try Translate.request(Self.body([Self.user("hi")])).body["chat_template_kwargs"] == nil)
    }

    // MARK: Rule 12

    @Test("rule 12: Anthropic-only and unknown fields are dropped, never forwarded, never an error")
    func rule12DroppedFields() throws {
        let extra: JSONObject = [
            "metadata": ["user_id": "u"], "context_management": ["edits": []], "service_tier": "auto",
            "container": "c", "mcp_servers": [], "cache_control": ["type": "ephemeral", "ttl": "1h"],
            "output_config": ["effort": "high"], "inference_geo": "us", "some_future_field": 1,
        ]
        let translated = try Translate.request(Self.body([Self.user([["type": "text", "text": "hi", "cache_control": ["type": "ephemeral", "ttl": "1h"]]])], extra: extra))
        #expect(Set(translated.body.keys) == ["model", "messages", "max_tokens"])
        #expect(!JSONValue.object(translated.body).jsonString.contains("cache_control"))
    }

    @Test("rule 12: a text document becomes text with its title; a PDF document is a clear 400")
    func rule12Documents() throws {
        let text: JSONValue = ["type": "document", "title": "notes.txt", "source": ["type": "text", "media_type": "text/plain", "data": "plain text doc"]]
        let translated = try Translate.request(Self.body([Self.user([text])]))
        #expect(JSONValue.object(translated.body).messageList == [["role": "user", "content": "notes.txt\n\nplain text doc"]])
        do {
            _ = try Translate.request(try Fixtures.json("anthropic/anthropic-request-all-fields.json"))
            Issue.record("a PDF document was accepted")
        } catch let error as AnthropicError {
            #expect(error.kind == .invalidRequest)
            #expect(error.httpStatus == 400)
            #expect(error.message.hasPrefix("messages.0.content.3.source: PDF documents are not supported"))
        }
    }

    // MARK: Validation

    @Test("malformed requests are 400 invalid_request_error naming the field", arguments: [
        (#"{"max_tokens":1,"messages":[]}"#, "model: Field required"),
        (#"{"model":"m","messages":[]}"#, "max_tokens: Field required"),
        (#"{"model":"m","max_tokens":"x","messages":[]}"#, "max_tokens: Input should be a valid integer, got string"),
        (#"{"model":"m","max_tokens":1}"#, "messages: Field required"),
        (#"{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}"#, "messages.0.content: Field required"),
        (#"{"model":"m","max_tokens":1,"messages":[{"role":"bot","content":"x"}]}"#, "messages.0.role: Input should be 'user' or 'assistant'"),
        (#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]}"#, "messages.0.content.0.tool_use_id: Field required"),
        (#"{"model":"m","max_tokens":1,"messages":[],"tools":[{"name":"x"}]}"#, "tools.0.input_schema: Field required"),
        (#"{"model":"m","max_tokens":1,"messages":[],"stop_sequences":[1]}"#, "stop_sequences.0: Input should be a valid string, got number"),
        (#"{"model":"m","max_tokens":1,"messages":[],"thinking":{"type":"sometimes"}}"#, "thinking.type: Input tag 'sometimes' does not match 'enabled', 'disabled' or 'adaptive'"),
        (#"[1]"#, "Input should be an object, got array"),
    ])
    func validation(_ body: String, _ message: String) throws {
        #expect(throws: AnthropicError(.invalidRequest, message)) { try AnthropicRequest(json: try JSONParser.parse(body)) }
    }

    // MARK: count_tokens and prefill

    @Test("count_tokens: the fixture needs no max_tokens and becomes vLLM's chat-form /tokenize body")
    func countTokensTokenizeBody() throws {
        let translated = try Translate.request(try Fixtures.json("anthropic/anthropic-count-tokens-request.json"), endpoint: .countTokens)
        let tokenize = translated.tokenizeBody
        let shape = try Fixtures.json("vllm/vllm-tokenize-request-messages.json")
        #expect(tokenize["model"] == "Qwen/Qwen3-Coder-30B-A3B-Instruct")
        #expect(tokenize["add_generation_prompt"] == true)
        #expect(tokenize["chat_template_kwargs"] == ["enable_thinking": true])
        #expect(tokenize["messages"]?.arrayValue?.count == 2)
        #expect(tokenize["tools"]?.arrayValue?.first?["function"]?["name"] == "Bash")
        for key in tokenize.objectValue?.keys ?? [] { #expect(shape[key] != nil, "\(key) is not a /tokenize field") }
    }

    @Test("a final assistant turn is a prefill: vLLM continues it instead of starting a new turn")
    func prefill() throws {
        let translated = try Translate.request(Self.body([Self.user("Say hi"), Self.assistant("Hello")]))
        #expect(translated.body["continue_final_message"] == true)
        #expect(translated.body["add_generation_prompt"] == false)
        #expect(translated.context.continuesPrefill)
    }

    // MARK: Size

    /// Seen while writing fuzz-request (whose 64 KiB inputs are too small to time out on it): merging
    /// same-role turns copied the turn so far on every message, and a result looked for its call by
    /// a linear scan, so a 32 MiB body of one-letter messages kept a core busy for hours. 100,000 of each must translate well within the limit (the quadratic code
    /// needed about half an hour of CPU for them).
    @Test("100,000 same-role messages and 50,000 tool calls with one id translate in linear time", .timeLimit(.minutes(1)))
    func manyMessagesAndCalls() throws {
        let users = [JSONValue](repeating: Self.user("a"), count: 100_000)
        let calls = (0..<50_000).map { index -> JSONValue in ["type": "tool_use", "id": "dup", "name": .string("tool_\(index)"), "input": [:]] }
        let results = (0..<50_000).map { index -> JSONValue in ["type": "tool_result", "tool_use_id": "dup", "content": .string("r\(index)")] }
        let assistants = [JSONValue](repeating: Self.assistant("b"), count: 100_000)
        let messages = users + [Self.assistant(.array(calls)), Self.user(.array(results))] + assistants
        let translated = JSONValue.object(try Translate.request(Self.body(messages)).body).messageList

        #expect(translated.count == 1 + 1 + 50_000 + 1)
        #expect(translated[0]["content"]?.stringValue?.count == 2 * 100_000 - 1)
        let callIDs = translated[1]["tool_calls"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(callIDs.count == 50_000 && Set(callIDs).count == 50_000)
        // Each result answers the oldest call still waiting with its id: results keep the calls' order.
        let answers = translated[2..<50_002]
        #expect(answers.map { $0["tool_call_id"]?.stringValue ?? "" } == callIDs)
        #expect(answers.last?["content"] == "r49999")
        #expect(translated.last?["content"]?.stringValue?.count == 2 * 100_000 - 1)
    }
}

extension JSONValue {
    /// The all-fields fixture without its PDF document block (refused by rule 12).
    func removingPDF() throws -> JSONValue {
        guard var object = objectValue, var messages = object["messages"]?.arrayValue, var first = messages[0].objectValue,
              let content = first["content"]?.arrayValue
        else { return self }
        first["content"] = .array(content.filter { $0["source"]?["media_type"] != "application/pdf" })
        messages[0] = .object(first)
        object["messages"] = .array(messages)
        return .object(object)
    }
}
