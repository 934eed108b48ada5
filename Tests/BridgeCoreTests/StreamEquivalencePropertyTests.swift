// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// Property: any answer, streamed as vLLM streams it, split at arbitrary byte boundaries on the way in
/// and on the way out, and accumulated the way the Anthropic SDK accumulates events, yields the same
/// message as the whole-response translation of the same answer.
@Suite("Stream ≡ whole response (property)")
struct StreamEquivalencePropertyTests {
    /// SplitMix64: small, fast, reproducible from the printed seed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }
    }

    /// Words chosen so that no concatenation forms `<think>`, `</think>` or `<tool_call>`, while
    /// partial tags still exercise the rescue scanner's hold-back.
    static let words = [
        "hello", "world", "<", "<tool", "<thin", "</th", "a<b", "ünïcödé", "日本語", "😀👍🏽", "\"quoted\"", "back\\slash",
        "tab\there", "new\nline", " ", "  ", "\n", "{", "}", "[1,2]", "x", "The", "answer", "is", "42.", "\u{01}",
    ]

    struct Answer {
        var reasoning: String?
        var text: String?
        var calls: [(id: String, name: String, arguments: String)]
        var finish: String
        var stopReason: JSONValue
        var usage: JSONValue
    }

    static func words(_ random: inout Random, _ count: ClosedRange<Int>) -> String {
        (0..<random.int(count)).map { _ in random.pick(words) }.joined(separator: random.chance(50) ? " " : "")
    }

    static func jsonValue(_ random: inout Random, depth: Int) -> JSONValue {
        switch random.int(0...(depth > 2 ? 3 : 5)) {
        case 0: return .string(words(&random, 0...4))
        case 1: return .number(random.pick(["0", "-1", "42", "3.25", "1e5", "-0.5E-3", "123456789"]))
        case 2: return .bool(random.chance(50))
        case 3: return .null
        case 4: return .array((0..<random.int(0...3)).map { _ in jsonValue(&random, depth: depth + 1) })
        default: return .object(object(&random, depth: depth + 1))
        }
    }

    static func object(_ random: inout Random, depth: Int) -> JSONObject {
        var object = JSONObject()
        for index in 0..<random.int(0...4) { object["k\(index)_\(random.pick(["a", "ü", "😀", "\"q\""]))"] = jsonValue(&random, depth: depth) }
        return object
    }

    /// vLLM writes arguments with Python's `json.dumps` (", " and ": "); OpenAI compactly.
    static func pythonStyle(_ text: String) -> String {
        var output = ""
        var inString = false
        var escaped = false
        for character in text {
            output.append(character)
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == "," || character == ":" {
                output.append(" ")
            }
        }
        return output
    }

    static func answer(_ random: inout Random) -> Answer {
        let reasoning = random.chance(40) ? words(&random, 1...12) : nil
        let text = random.chance(70) ? words(&random, 1...20) : nil
        var calls: [(String, String, String)] = []
        if random.chance(45) {
            for index in 0..<random.int(1...3) {
                var arguments = JSONValue.object(object(&random, depth: 0)).jsonString
                if random.chance(50) { arguments = pythonStyle(arguments) }
                calls.append(("call_\(index)_\(random.int(0...999_999))", random.pick(["Read", "Bash", "Glob", "mcp__a__b"]), arguments))
            }
        }
        var finish = calls.isEmpty ? random.pick(["stop", "stop", "length", "content_filter"]) : random.pick(["tool_calls", "tool_calls", "stop", "length"])
        var stopReason = JSONValue.null
        if finish == "stop", random.chance(30) { stopReason = random.pick(["</answer>", "151645", "unlisted"]).jsonStopReason }
        if finish == "length", !calls.isEmpty, random.chance(70) {
            // Cut the last call's arguments mid-way, as max_tokens does.
            let last = calls.removeLast()
            let cut = last.2.prefix(random.int(0...last.2.count))
            calls.append((last.0, last.1, String(cut)))
        }
        if finish == "length", random.chance(20) { finish = "length" }
        let prompt = random.int(1...5000)
        var usage: JSONObject = ["prompt_tokens": .int(prompt), "total_tokens": .int(prompt + 7), "completion_tokens": 7]
        if random.chance(50) { usage["prompt_tokens_details"] = ["cached_tokens": .int(random.int(0...prompt))] }
        return Answer(reasoning: reasoning, text: text, calls: calls.map { (id: $0.0, name: $0.1, arguments: $0.2) }, finish: finish, stopReason: stopReason, usage: .object(usage))
    }

    static let envelope: JSONObject = ["id": "chatcmpl-5b1e0f2a-7c3d-4e8f-9a0b-1c2d3e4f5a6b", "object": "chat.completion", "created": 1773161262, "model": "Qwen/Qwen3"]

    static func wholeResponse(_ answer: Answer) -> JSONValue {
        var message: JSONObject = ["role": "assistant", "content": answer.text.map { .string($0) } ?? .null]
        message["tool_calls"] = .array(answer.calls.map { ["id": .string($0.id), "type": "function", "function": ["name": .string($0.name), "arguments": .string($0.arguments)]] })
        if let reasoning = answer.reasoning { message["reasoning"] = .string(reasoning) }
        var object = envelope
        object["choices"] = [["index": 0, "message": .object(message), "logprobs": .null, "finish_reason": .string(answer.finish), "stop_reason": answer.stopReason]]
        object["usage"] = answer.usage
        return .object(object)
    }

    static func pieces(_ text: String, _ random: inout Random) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            let size = random.int(1...max(1, min(8, rest.count)))
            result.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return result
    }

    /// The answer as vLLM streams it, as SSE bytes.
    static func streamBytes(_ answer: Answer, _ random: inout Random) -> [UInt8] {
        var chunks: [JSONValue] = []
        func chunk(_ delta: JSONObject, finish: String? = nil) -> JSONValue {
            var choice: JSONObject = ["index": 0, "delta": .object(delta), "logprobs": .null, "finish_reason": finish.map { .string($0) } ?? .null]
            if finish != nil { choice["stop_reason"] = answer.stopReason }
            var object = envelope
            object["object"] = "chat.completion.chunk"
            object["choices"] = [.object(choice)]
            return .object(object)
        }
        chunks.append(chunk(["role": "assistant", "content": ""]))
        for piece in pieces(answer.reasoning ?? "", &random) { chunks.append(chunk(["reasoning": .string(piece)])) }
        for piece in pieces(answer.text ?? "", &random) { chunks.append(chunk(["content": .string(piece)])) }
        // Tool-call deltas: each call opens with id+name (and "{" or "" or nothing), then its fragments;
        // calls interleave at random while each call's fragments stay in order.
        var queues: [[JSONObject]] = answer.calls.enumerated().map { index, call in
            var fragments = pieces(call.arguments, &random)
            var opening: JSONObject = ["name": .string(call.name)]
            switch random.int(0...2) {
            case 0: opening["arguments"] = .string(fragments.isEmpty ? "" : fragments.removeFirst())
            case 1: opening["arguments"] = ""
            default: break
            }
            var deltas: [JSONObject] = [["index": .int(index), "id": .string(call.id), "type": "function", "function": .object(opening)]]
            deltas += fragments.map { ["index": .int(index), "function": ["arguments": .string($0)]] }
            return deltas
        }
        var lastDelta: JSONObject?
        var opened = Array(repeating: false, count: queues.count)
        while queues.contains(where: { !$0.isEmpty }) {
            // Servers announce calls in index order: call i opens only after call i-1 has opened.
            let candidates = queues.indices.filter { !queues[$0].isEmpty && ($0 == 0 || opened[$0 - 1]) }
            let index = random.pick(candidates)
            opened[index] = true
            let delta = queues[index].removeFirst()
            if !queues.contains(where: { !$0.isEmpty }), random.chance(50) {
                lastDelta = delta
            } else {
                chunks.append(chunk(["tool_calls": [.object(delta)]]))
            }
        }
        var finishDelta: JSONObject = ["content": ""]
        if let lastDelta { finishDelta = ["tool_calls": [.object(lastDelta)]] }
        chunks.append(chunk(finishDelta, finish: answer.finish))
        var usageChunk = envelope
        usageChunk["object"] = "chat.completion.chunk"
        usageChunk["choices"] = []
        usageChunk["usage"] = answer.usage
        chunks.append(.object(usageChunk))
        var bytes: [UInt8] = []
        for chunk in chunks {
            bytes += Array("data: ".utf8) + chunk.jsonBytes + Array("\n\n".utf8)
        }
        bytes += Array("data: [DONE]\n\n".utf8)
        return bytes
    }

    static func splitBytes(_ bytes: [UInt8], _ random: inout Random) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let size = random.int(1...max(1, min(random.pick([1, 3, 17, 200]), bytes.count - start)))
            result.append(Array(bytes[start..<start + size]))
            start += size
        }
        return result
    }

    /// Accumulates Anthropic SSE JSON events into a message JSON, the way the Python SDK's
    /// `accumulate_event` does.
    static func sdkAccumulate(_ events: [JSONValue]) throws -> JSONValue {
        var snapshot = JSONObject()
        var content: [JSONObject] = []
        var partial: [Int: String] = [:]
        for event in events {
            switch event["type"]?.stringValue {
            case "message_start":
                snapshot = try #require(event["message"]?.objectValue)
            case "content_block_start":
                content.append(try #require(event["content_block"]?.objectValue))
            case "content_block_delta":
                let index = try #require(event["index"]?.intValue)
                let delta = try #require(event["delta"])
                switch delta["type"]?.stringValue {
                case "text_delta": content[index]["text"] = .string((content[index]["text"]?.stringValue ?? "") + (delta["text"]?.stringValue ?? ""))
                case "thinking_delta": content[index]["thinking"] = .string((content[index]["thinking"]?.stringValue ?? "") + (delta["thinking"]?.stringValue ?? ""))
                case "signature_delta": content[index]["signature"] = delta["signature"]
                case "input_json_delta": partial[index, default: ""] += delta["partial_json"]?.stringValue ?? ""
                default: Issue.record("unknown delta \(delta)")
                }
            case "content_block_stop":
                let index = try #require(event["index"]?.intValue)
                if content[index]["type"] == "tool_use" {
                    let text = partial[index] ?? ""
                    content[index]["input"] = text.isEmpty ? .object([:]) : try JSONParser.parse(text)
                }
            case "message_delta":
                snapshot["stop_reason"] = event["delta"]?["stop_reason"]
                snapshot["stop_sequence"] = event["delta"]?["stop_sequence"]
                if var usage = snapshot["usage"]?.objectValue, let delta = event["usage"]?.objectValue {
                    for member in delta.members { usage[member.key] = member.value }
                    snapshot["usage"] = .object(usage)
                }
            case "message_stop", "ping":
                break
            default:
                Issue.record("unexpected event \(event)")
            }
        }
        snapshot["content"] = .array(content.map { .object($0) })
        return .object(snapshot)
    }

    @Test("any answer, chunked and split anywhere, accumulates to the whole-response translation", arguments: 0..<8)
    func streamEqualsWhole(_ batch: Int) throws {
        for caseNumber in 0..<60 {
            let seed = UInt64(batch * 1000 + caseNumber)
            var random = Random(state: seed)
            let answer = Self.answer(&random)
            let context = TranslationContext(
                clientModel: "claude-sonnet-4-5", backendModel: "Qwen/Qwen3", stopSequences: ["</answer>"],
                thinking: random.chance(15) ? .disabled : nil
            )
            let whole = try ResponseTranslator.translate(Self.wholeResponse(answer), context: context).json

            var decoder = SSEDecoder()
            var translator = StreamTranslator(context: context)
            var outgoing: [UInt8] = []
            for piece in Self.splitBytes(Self.streamBytes(answer, &random), &random) {
                for payload in try decoder.feed(piece) {
                    for event in translator.consume(UpstreamStreamItem(data: payload)) { event.writeSSE(into: &outgoing) }
                }
            }
            for event in translator.endOfStream() { event.writeSSE(into: &outgoing) }

            var clientDecoder = SSEDecoder()
            var events: [JSONValue] = []
            for piece in Self.splitBytes(outgoing, &random) {
                events += try clientDecoder.feed(piece).map { try JSONParser.parse($0) }
            }
            let streamed = try Self.sdkAccumulate(events)
            #expect(streamed == whole, "seed \(seed)")
            if streamed != whole { return }
        }
    }
}

extension String {
    fileprivate var jsonStopReason: JSONValue { Int(self) != nil ? .number(self) : .string(self) }
}
