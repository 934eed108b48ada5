// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
@testable import VLLMSimulator

/// The pure parts: token pieces, prompt estimate, directive parsing, Python-style JSON, planning.
@Suite("simulator internals")
struct UnitTests {
    @Test("answer pieces: words with their leading space, punctuation alone, whitespace runs; lossless")
    func answerPieces() {
        #expect(AnswerTokenizer.pieces("Hello! How can I help?") == ["Hello", "!", " How", " can", " I", " help", "?"])
        #expect(AnswerTokenizer.pieces("a\n\n  b ") == ["a", "\n\n ", " b", " "])
        #expect(AnswerTokenizer.pieces("supercalifragilistic") == ["supercalifra", "gilistic"])
        for text in ["", "x", "  lead", "好的，用户", "emoji 👍🏽 ok", "tab\tsep\r\n"] {
            #expect(AnswerTokenizer.pieces(text).joined() == text)
        }
    }

    @Test("prompt estimate: 3 + ceil(bytes/4) per message, media 256, tools ceil(JSON bytes/4)")
    func promptEstimate() {
        let messages: [JSONValue] = [
            ["role": "system", "content": "12345678"],  // 3 + 2
            ["role": "user", "content": [["type": "text", "text": "abc"], ["type": "image_url", "image_url": ["url": "x"]]]],  // 3 + 1 + 256
            ["role": "assistant", "content": nil, "tool_calls": [["function": ["name": "ab", "arguments": "{}"]]]],  // 3 + 1
        ]
        #expect(PromptTokenEstimator.count(messages: messages, tools: nil) == 5 + 260 + 4)
        let tools: [JSONValue] = [["type": "function"]]  // {"type":"function"} in [] = 21 bytes
        #expect(PromptTokenEstimator.count(messages: [], tools: tools) == 6)
        #expect(PromptTokenEstimator.tokenIDs(messages: messages, tools: tools).count == 269 + 6)
        #expect(PromptTokenEstimator.count(prompt: "Hello, world") == 3)
    }

    @Test("Python json.dumps spacing; ensure_ascii escapes as UTF-16")
    func pythonJSON() {
        let value: JSONValue = ["a": [1, "é"], "b": ["c": nil]]
        #expect(PythonJSON.dumps(value, ensureASCII: false) == #"{"a": [1, "é"], "b": {"c": null}}"#)
        #expect(PythonJSON.dumps("é😀\n\\u", ensureASCII: true) == #""\u00e9\ud83d\ude00\n\\u""#)
    }

    @Test("directives: the last user message's last directive; strings, pieces and options parsed")
    func directiveParsing() throws {
        let messages: [JSONValue] = [
            ["role": "user", "content": #"[[sim:{"text":"first"}]]"#],
            ["role": "user", "content": #"a [[sim:{"text":"x"}]] b [[sim: {"text":["p","q"],"finish":"length","ttft_ms":5} ]]"#],
        ]
        let directive = try #require(try SimDirective.find(in: messages))
        #expect(directive.text == .pieces(["p", "q"]))
        #expect(directive.finish == "length")
        #expect(directive.ttftMilliseconds == 5)
        #expect(try SimDirective.find(in: [["role": "user", "content": "plain"]]) == nil)
        #expect(throws: APIError.self) { try SimDirective.find(in: [["role": "user", "content": #"[[sim:{"text":1}]]"#]]) }
        #expect(throws: APIError.self) { try SimDirective.find(in: [["role": "user", "content": #"[[sim:{"text":"x"}"#]]) }
    }

    @Test("multi-turn scripts: user text after the tool results (Claude Code's reminders) keeps the script; steps follow the assistant turns")
    func scriptSurvivesReminders() throws {
        let directive = #"[[sim:{"tool_calls":[{"name":"Read","arguments":{"file_path":"/a"}}],"on_tool_result":[{"text":"one"},{"text":"two"}]}]]"#
        var messages: [JSONValue] = [["role": "user", "content": .string("go " + directive)]]
        #expect(try SimDirective.find(in: messages)?.toolCalls?.first?.name == "Read")
        messages += [
            ["role": "assistant", "content": nil, "tool_calls": [["id": "c1", "type": "function", "function": ["name": "Read", "arguments": "{}"]]]],
            ["role": "tool", "tool_call_id": "c1", "content": "text"],
            ["role": "user", "content": "<system-reminder>later</system-reminder>"],
        ]
        #expect(try SimDirective.find(in: messages)?.text == .text("one"))
        messages += [
            ["role": "assistant", "content": nil, "tool_calls": [["id": "c2", "type": "function", "function": ["name": "Read", "arguments": "{}"]]]],
            ["role": "tool", "tool_call_id": "c2", "content": "text"],
        ]
        #expect(try SimDirective.find(in: messages)?.text == .text("two"))
    }

    @Test("on_user_text: the first rule whose text is in the last user message answers, directives' own text excluded")
    func onUserText() throws {
        let directive = #"[[sim:{"text":"plain","on_user_text":[{"contains":"create a detailed summary","reply":{"text":"Summary."}},{"contains":"MARKER-9","reply":{"text":"after"}}]}]]"#
        var messages: [JSONValue] = [["role": "user", "content": .string("go " + directive)]]
        #expect(try SimDirective.find(in: messages)?.text == .text("plain"))
        messages += [["role": "assistant", "content": "plain"], ["role": "user", "content": "Your task is to create a detailed summary of the conversation"]]
        #expect(try SimDirective.find(in: messages)?.text == .text("Summary."))
        #expect(SimDirective.textOutsideDirectives(["role": "user", "content": .string("a " + directive + " b")]) == "a  b")
        #expect(throws: APIError.self) { try SimDirective(object: ["on_user_text": [["contains": "x"]]]) }
    }

    @Test("a directive in a tool result applies when no user message has one (the client dropped the first turns)")
    func directiveInToolResult() throws {
        let messages: [JSONValue] = [
            ["role": "user", "content": "[earlier conversation truncated]"],
            ["role": "assistant", "content": nil, "tool_calls": [["id": "c1", "type": "function", "function": ["name": "Read", "arguments": "{}"]]]],
            ["role": "tool", "tool_call_id": "c1", "content": #"file text [[sim:{"text":"from the file"}]]"#],
            ["role": "user", "content": "Summarize."],
        ]
        #expect(try SimDirective.find(in: messages)?.text == .text("from the file"))
    }

    @Test("plan: a stop string spanning pieces ends in the piece that completes it")
    func stopAcrossPieces() throws {
        let request = try ChatRequest(body: [
            "messages": [["role": "user", "content": "x"]], "stop": ["lo wo"],
        ])
        var directive = try SimDirective(object: ["text": "Hello world again"])
        directive.promptTokens = 10
        let generation = Generation(request: request, directive: directive, promptTokens: 10, maxModelLen: 100)
        #expect(generation.steps.map(\.delta) == [])
        #expect(generation.ending == .separate(.output(.content("Hel")), Finish(reason: "stop", stopReason: "lo wo")))
        #expect(generation.completionTokens == 2)  // "Hello", " world"
    }

    @Test("plan: truncation inside a tool call reports tool_calls (as vLLM does) and ends with {}")
    func truncatedToolCall() throws {
        let request = try ChatRequest(body: [
            "messages": [["role": "user", "content": "x"]], "max_tokens": 12,
            "tools": [["type": "function", "function": ["name": "Write"]]],
        ])
        let directive = try SimDirective(object: [
            "tool_calls": [["name": "Write", "arguments": ["content": .string(String(repeating: "long text ", count: 20))]]],
        ])
        let generation = Generation(request: request, directive: directive, promptTokens: 10, maxModelLen: 100)
        #expect(generation.steps.count == 1)
        #expect(generation.ending == .separate(.empty, Finish(reason: "tool_calls", stopReason: nil)))
        #expect(generation.completionTokens == 12)
    }
}
