// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads
import BridgeCore
import BridgeJSON
import Testing

/// The routing benchmark's sessions grow as Claude Code's do: each turn re-sends everything the turn
/// before sent except its last user message, plus one more task, so a prefix cache can serve it.
@Suite("Claude Code sessions")
struct ClaudeCodeSessionTests {
    static func session(_ index: Int) -> ClaudeCodeSession {
        ClaudeCodeSession(index: index, turns: 4, openingHistoryBytes: 0, model: "claude-sonnet-4-5", stream: true, maxTokens: 4096) { "turn \($0)" }
    }

    static func messages(_ body: [UInt8]) throws -> [JSONValue] {
        try JSONParser.parse(body)["messages"]?.arrayValue ?? []
    }

    @Test("every turn re-sends the previous turn's conversation (all but its last message) and grows")
    func turnsExtendEachOther() throws {
        let session = Self.session(0)
        #expect(session.bodies.count == 4)
        for (earlier, later) in zip(session.bodies, session.bodies.dropFirst()) {
            let before = try Self.messages(earlier)
            let after = try Self.messages(later)
            #expect(after.count > before.count)
            #expect(Array(after.prefix(before.count - 1)) == Array(before.dropLast()))
            #expect(later.count > earlier.count)
        }
        #expect(try Self.messages(session.bodies[2]).last?["content"]?.arrayValue?.first?["text"]?.stringValue == "turn 3")
    }

    @Test("sessions share the system prompt and tools, not their history or id; the same index builds the same bytes")
    func sessionsDiffer() throws {
        let (first, second) = (Self.session(0), Self.session(1))
        let (a, b) = (try JSONParser.parse(first.bodies[1]), try JSONParser.parse(second.bodies[1]))
        #expect(a["system"] == b["system"] && a["tools"] == b["tools"])
        #expect(a["messages"] != b["messages"])
        #expect(first.sessionID != second.sessionID && first.sessionID.count == 36)
        #expect(a["metadata"]?["user_id"]?.stringValue?.contains(first.sessionID) == true)
        #expect(Self.session(0).bodies == first.bodies)
    }

    @Test("the bridge translates every turn")
    func translates() throws {
        for body in Self.session(2).bodies {
            let request = try AnthropicRequest(json: try JSONParser.parse(body))
            _ = try RequestTranslator.translate(request) { (_: String) throws(AnthropicError) in "Qwen/Qwen3-Coder-30B-A3B-Instruct" }
        }
    }
}
