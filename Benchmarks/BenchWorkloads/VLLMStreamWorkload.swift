// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import VLLMSimulator

/// A streamed vLLM answer as the exact bytes vLLM sends: one `data: {…}\n\n` event per array, in order
/// (role chunk, one chunk per token, the final chunk with `finish_reason`, the usage chunk, `[DONE]`).
///
/// The bytes come from vllm-sim's own planner and chunk encoder (`SimulatedCompletion`), which write
/// vLLM's chunks byte for byte (Qwen3 reasoning parser + qwen3_coder tool parser, vLLM 0.17+ field
/// names), with fixed completion and tool-call ids so every run sees the same bytes.
public struct VLLMStreamWorkload: Sendable {
    /// A scripted tool call: its name and arguments (one streamed fragment per argument, as
    /// qwen3_coder sends them).
    public struct ToolCall: Sendable, Equatable {
        /// The function name.
        public var name: String
        /// The arguments object, in the order its members are streamed.
        public var arguments: JSONObject
    }

    /// The backend model id the chunks name.
    public static let backendModel = "Qwen/Qwen3-Coder-30B-A3B-Instruct"

    /// The `data:` events, one per array, each ending in `\n\n`.
    public let events: [[UInt8]]
    /// The answer's text tokens, one content chunk each.
    public let textPieces: [String]
    /// The tool call streamed after the text, if any.
    public let toolCall: ToolCall?
    /// The whole (non-streaming) `chat.completion` body of the same answer.
    public let responseBody: [UInt8]

    /// The answer's text as the client sees it (the pieces joined).
    public var text: String { textPieces.joined() }

    /// All event bytes.
    public var byteCount: Int { events.reduce(0) { $0 + $1.count } }

    /// An answer of `tokens` text tokens: prose and markdown as a coding agent writes it.
    public static func text(tokens: Int) -> VLLMStreamWorkload {
        VLLMStreamWorkload(textPieces: pieces(tokens), toolCall: nil)
    }

    /// An answer of `textTokens` text tokens, then an `Edit` tool call whose `old_string` and
    /// `new_string` are multi-line source code (about `codeBytes` each), streamed as vLLM's
    /// qwen3_coder parser streams it: the name with `{`, one fragment per argument, `}`.
    public static func toolCall(textTokens: Int, codeBytes: Int = 1_500) -> VLLMStreamWorkload {
        var text = TextGenerator(seed: 0x5EED_C1A0_DE00_0004)
        var old: [String] = []
        while old.joined(separator: "\n").utf8.count < codeBytes { old.append(text.codeLine(indent: 2)) }
        var new = old
        new.insert(text.codeLine(indent: 2), at: new.count / 2)
        let call = ToolCall(name: "Edit", arguments: [
            "file_path": "/home/dev/spark-bridge/Sources/BridgeCore/Translation/StreamTranslator.swift",
            "old_string": .string(old.joined(separator: "\n")),
            "new_string": .string(new.joined(separator: "\n")),
        ])
        return VLLMStreamWorkload(textPieces: pieces(textTokens), toolCall: call)
    }

    /// The `/v1/chat/completions` body the bridge would send for this answer (streaming, with usage),
    /// scripted with a `[[sim:…]]` directive.
    public let requestBody: [UInt8]

    init(textPieces: [String], toolCall: ToolCall?) {
        self.textPieces = textPieces
        self.toolCall = toolCall
        var directive: JSONObject = [
            "text": .array(textPieces.map { .string($0) }),
            // A long conversation, mostly in vLLM's prefix cache.
            "prompt_tokens": 52_817,
            "cached_tokens": 51_200,
        ]
        var request: JSONObject = [
            "model": .string(Self.backendModel),
            "messages": [["role": "user", "content": .string("[[sim:" + JSONValue.object(directive).jsonString + "]]")]],
        ]
        if let toolCall {
            directive["tool_calls"] = [["name": .string(toolCall.name), "arguments": .object(toolCall.arguments)]]
            request["messages"] = [["role": "user", "content": .string("[[sim:" + JSONValue.object(directive).jsonString + "]]")]]
            request["tools"] = [[
                "type": "function",
                "function": [
                    "name": "Edit",
                    "description": "Performs exact string replacements in files.",
                    "parameters": ClaudeCodeTools.objectSchema([
                        ("file_path", ClaudeCodeTools.property("string")),
                        ("old_string", ClaudeCodeTools.property("string")),
                        ("new_string", ClaudeCodeTools.property("string")),
                    ], required: ["file_path", "old_string", "new_string"]),
                ],
            ]]
        }
        request["max_tokens"] = 32_000
        request["stream"] = true
        request["stream_options"] = ["include_usage": true]
        requestBody = JSONValue.object(request).jsonBytes

        // Qwen3-Coder's context: 256K tokens.
        let configuration = SimulatorConfiguration(maxModelLen: 262_144)
        do {
            events = try SimulatedCompletion.streamEvents(requestBody: requestBody, configuration: configuration)
            var whole = request
            whole["stream"] = nil
            whole["stream_options"] = nil
            responseBody = try SimulatedCompletion.responseBody(requestBody: JSONValue.object(whole).jsonBytes, configuration: configuration)
        } catch {
            preconditionFailure("vllm-sim refused the benchmark's scripted request: \(error)")
        }
    }

    /// The first `count` tokens of a deterministic answer (vllm-sim's tokenizer: a word with its
    /// leading space, a symbol, or a whitespace run per token). It starts with a word, so no leading
    /// white space is trimmed from it.
    static func pieces(_ count: Int) -> [String] {
        var text = TextGenerator(seed: 0x5EED_C1A0_DE00_0003)
        var answer = "I found the cause. "
        var pieces = AnswerTokenizer.pieces(answer)
        while pieces.count < count + 1 {
            switch text.random.below(5) {
            case 0:
                answer += "\n\n" + (0..<text.random.within(2...4)).map { _ in
                    "- `\(text.random.pick(TextGenerator.types))`: \(text.sentence(from: TextGenerator.answerSentences))"
                }.joined(separator: "\n") + "\n\n"
            case 1:
                answer += "\n\n```swift\n" + (0..<text.random.within(2...6)).map { _ in text.codeLine(indent: 1) }.joined(separator: "\n") + "\n```\n\n"
            default:
                answer += text.sentence(from: TextGenerator.answerSentences) + " " + text.sentence(from: TextGenerator.instructions) + " "
            }
            pieces = AnswerTokenizer.pieces(answer)
        }
        return Array(pieces.prefix(count))
    }
}
