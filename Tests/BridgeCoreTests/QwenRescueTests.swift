// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Foundation
import Testing

/// Qwen markup left in plain content by a backend started without reasoning/tool parsers.
@Suite("Qwen markup rescue")
struct QwenRescueTests {
    static let schemas: [String: JSONValue] = [
        "Read": ["type": "object", "properties": ["file_path": ["type": "string"], "limit": ["type": "number"]]],
        "Write": ["type": "object", "properties": ["file_path": ["type": "string"], "content": ["type": "string"]]],
        "Bash": ["type": "object", "properties": ["command": ["type": "string"], "description": ["type": "string"], "timeout": ["type": "integer"], "run_in_background": ["type": "boolean"]]],
    ]

    static func fixtureText(_ name: String) throws -> String {
        String(decoding: try Fixtures.bytes("qwen/\(name)"), as: UTF8.self)
    }

    static func whole(_ content: String, thinking: AnthropicThinking? = nil) throws -> AnthropicMessage {
        let response: JSONValue = [
            "id": "chatcmpl-abc", "choices": [["index": 0, "message": ["role": "assistant", "content": .string(content)], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 1, "completion_tokens": 1],
        ]
        return try ResponseTranslator.translate(response, context: Translate.context(tools: schemas, thinking: thinking))
    }

    /// The same content streamed in pieces of `size` characters.
    static func streamed(_ content: String, size: Int) throws -> AnthropicMessage {
        var items: [UpstreamStreamItem] = []
        var rest = Substring(content)
        while !rest.isEmpty {
            items.append(StreamTranslationTests.chunk(content: String(rest.prefix(size))))
            rest = rest.dropFirst(size)
        }
        items += [StreamTranslationTests.chunk(finish: "stop"), .done]
        return try Translate.accumulate(Translate.stream(items, context: Translate.context(tools: schemas)))
    }

    @Test("a Qwen3-Coder tool call in content becomes a tool_use with typed parameters")
    func singleToolCall() throws {
        let message = try Self.whole(try Self.fixtureText("qwen3coder-raw-tool-call-single.txt"))
        #expect(message.content.count == 2)
        #expect(message.content[0] == .text("I'll read the README first."))
        guard case .toolUse(_, let name, let input) = message.content[1] else { Issue.record("no tool_use"); return }
        #expect(name == "Read")
        #expect(input == ["file_path": "/repo/README.md", "limit": 50])
        #expect(message.stopReason == .toolUse)
    }

    @Test("parallel multi-line calls, with a literal </parameter> inside a value, become two tool_use blocks")
    func parallelMultiline() throws {
        let message = try Self.whole(try Self.fixtureText("qwen3coder-raw-tool-call-parallel-multiline.txt"))
        #expect(message.content.count == 2)
        guard case .toolUse(_, "Write", let write) = message.content[0], case .toolUse(_, "Bash", let bash) = message.content[1] else {
            Issue.record("expected Write then Bash: \(message.content)")
            return
        }
        let content = try #require(write["content"]?.stringValue)
        #expect(content.hasPrefix("def main():\n    print(\"Hello, </parameter> World\")"))
        #expect(content.hasSuffix("    main()"))
        #expect(write["file_path"] == "/tmp/hello.py")
        #expect(bash == ["command": "python /tmp/hello.py", "description": "Run the script"])
    }

    @Test("<think>…</think> in content becomes a thinking block (old template)")
    func thinkOldTemplate() throws {
        let message = try Self.whole(try Self.fixtureText("qwen3-raw-think-old-template.txt"))
        #expect(message.content.count == 2)
        #expect(message.content[0].thinkingText == "\nOkay, the user is asking what a Scrum Master is. I should give a short answer.\n")
        #expect(message.content[1] == .text("A Scrum Master is the facilitator of an Agile team using Scrum...\n"))
    }

    @Test("a </think> with no opening tag (new template) splits a whole response into thinking and text")
    func thinkNewTemplate() throws {
        let message = try Self.whole(try Self.fixtureText("qwen3-raw-think-new-template-no-open-tag.txt"))
        #expect(message.content.first?.thinkingText == "The user is asking what a Scrum Master is. I should give a short answer.\n")
        #expect(message.content.last == .text("A Scrum Master is the facilitator of an Agile team using Scrum...\n"))
    }

    @Test("thinking then a tool call: thinking block then tool_use")
    func thinkThenToolCall() throws {
        let message = try Self.whole(try Self.fixtureText("qwen3-raw-think-then-tool-call.txt"))
        #expect(message.content.count == 2)
        #expect(message.content[0].thinkingText == "\nI need to list files; call Bash.\n")
        guard case .toolUse(_, "Bash", let input) = message.content[1] else { Issue.record("no Bash call"); return }
        #expect(input == ["command": "ls -la"])
    }

    @Test("streamed in pieces of any size, markup rescue gives the same message as the whole response", arguments: [1, 2, 3, 5, 7, 11, 64])
    func streamedEqualsWhole(_ size: Int) throws {
        for name in ["qwen3coder-raw-tool-call-single.txt", "qwen3coder-raw-tool-call-parallel-multiline.txt", "qwen3-raw-think-old-template.txt", "qwen3-raw-think-then-tool-call.txt"] {
            let text = try Self.fixtureText(name)
            #expect(try Self.streamed(text, size: size).content == Self.whole(text).content, "\(name)")
        }
    }

    @Test("text that only looks like markup stays text", arguments: [
        "Use the <tool_call> tag to call tools.", "a < b and b <think c", "x <tool_call", "<tool_call>\nnot a function",
    ])
    func literalMarkup(_ text: String) throws {
        #expect(try Self.whole(text).content == [.text(text)])
        #expect(try Self.streamed(text, size: 2).content == [.text(text)])
    }

    @Test("parameter values are typed by the tool's schema")
    func parameterTyping() throws {
        let content = "<tool_call>\n<function=Bash>\n<parameter=command>\necho 1\n</parameter>\n<parameter=timeout>\n3000\n</parameter>\n<parameter=run_in_background>\nTrue\n</parameter>\n<parameter=extra>\n{\"a\": 1}\n</parameter>\n</function>\n</tool_call>"
        let message = try Self.whole(content)
        guard case .toolUse(_, _, let input) = message.content.first else { Issue.record("no tool_use"); return }
        #expect(input == ["command": "echo 1", "timeout": 3000, "run_in_background": true, "extra": "{\"a\": 1}"])
    }

    @Test("an unterminated tool call at the end of the answer is still parsed")
    func unterminatedCall() throws {
        let message = try Self.whole("<tool_call>\n<function=Read>\n<parameter=file_path>\n/a\n")
        guard case .toolUse(_, "Read", let input) = message.content.first else { Issue.record("no tool_use"); return }
        #expect(input == ["file_path": "/a"])
    }

    /// Seen while writing fuzz-stream (whose 64 KiB inputs are too small to time out on it): every
    /// content delta inside a `<tool_call>` searched the whole call so far for `</tool_call>` (and
    /// skipped its leading white space again), so 20,000 one-character deltas took 18 s in the fuzz
    /// binary; 150,000 would have taken over ten minutes. Each delta now reads only what is new (and
    /// the white space before `<function=` is bounded: past 64 characters the call is text).
    @Test("a tool call streamed one character at a time is read in linear time", .timeLimit(.minutes(1)))
    func longCallInTinyDeltas() throws {
        let command = String(repeating: "a", count: 100_000)
        let content = "<tool_call>" + String(repeating: " \n", count: 30) + "<function=Bash>\n<parameter=command>\n" + command
            + "\n</parameter>\n</function>\n</tool_call>"
        let message = try Self.streamed(content, size: 1)
        #expect(message.content.count == 1)
        guard case .toolUse(_, "Bash", let input) = message.content.first else { Issue.record("no tool_use"); return }
        #expect(input == ["command": .string(command)])
    }
}

extension AnthropicResponseBlock {
    var thinkingText: String? {
        if case .thinking(let text, _) = self { return text }
        return nil
    }
}
