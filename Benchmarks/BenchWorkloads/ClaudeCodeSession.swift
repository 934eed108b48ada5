// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A Claude Code session as it grows, turn by turn: every turn re-sends the same system prompt and
/// tools (``ClaudeCodeWorkload``'s), the whole conversation so far, and a new user message; between two
/// turns the conversation grows by one task (a request, searches, file reads, edits, builds, an
/// answer), as a session's does while Claude Code works.
///
/// Sessions with different `index` share the system prompt and tools and nothing else, so a prefix
/// cache holds one copy of the first for all of them.
public struct ClaudeCodeSession: Sendable {
    /// The session's `X-Claude-Code-Session-Id`: a UUID made from `index`, fixed across runs.
    public let sessionID: String
    /// The request body of each turn, first to last.
    public let bodies: [[UInt8]]

    /// Builds every turn's body.
    ///
    /// - Parameters:
    ///   - index: which session (its history and id are seeded with it).
    ///   - turns: how many turns.
    ///   - openingHistoryBytes: the history the first turn already carries (whole tasks, at least this
    ///     many bytes; 0: none).
    ///   - model, stream, maxTokens: as in ``ClaudeCodeWorkload/init(model:stream:maxTokens:finalUserText:)``.
    ///   - userText: the last user message of turn `n` (from 1); a load generator puts a simulator
    ///     directive there.
    public init(
        index: Int, turns: Int, openingHistoryBytes: Int, model: String, stream: Bool, maxTokens: Int,
        userText: (Int) -> String
    ) {
        var text = TextGenerator(seed: 0x5EED_C1A0_DE00_0001)
        let system = JSONValue.array(ClaudeCodeWorkload.system(text: &text))
        let tools = JSONValue.array(ClaudeCodeTools.tools(text: &text))
        var seed = SeededGenerator(seed: 0x5E55_1000_0000_0000 &+ UInt64(truncatingIfNeeded: index))
        let hex = (0..<32).map { _ in "0123456789abcdef".randomElement(using: &seed)! }
        let uuid = String(hex)
        sessionID = [uuid.prefix(8), uuid.dropFirst(8).prefix(4), uuid.dropFirst(12).prefix(4), uuid.dropFirst(16).prefix(4), uuid.dropFirst(20)]
            .joined(separator: "-")
        var history = HistoryBuilder(text: TextGenerator(seed: 0x5EED_C1A0_DE00_1000 &+ UInt64(truncatingIfNeeded: index)))
        var task = 0
        while history.bytes < openingHistoryBytes {
            history.addTask(task)
            task += 1
        }
        let metadata: JSONValue = [
            "user_id": .string(#"{"device_id":"3f4a1b7c8d9e0f1234567890abcdef1234567890abcdef1234567890abcdef12","account_uuid":"","session_id":"\#(sessionID)"}"#),
        ]
        var bodies: [[UInt8]] = []
        for turn in 1...max(1, turns) {
            var messages = history.messages
            messages.append(["role": "user", "content": .array([["type": "text", "text": .string(userText(turn))]])])
            let request: JSONValue = [
                "model": .string(model),
                "max_tokens": .int(maxTokens),
                "stream": .bool(stream),
                "system": system,
                "messages": .array(messages),
                "tools": tools,
                "metadata": metadata,
            ]
            bodies.append(request.jsonBytes)
            history.addTask(task)
            task += 1
        }
        self.bodies = bodies
    }
}
