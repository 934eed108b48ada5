// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

@Suite("session keys and the stable hash they rank deployments by")
struct SessionKeyTests {
    private static let sessionID = "0b6e3da1-3bc3-44d2-875b-2a9146dddd15"

    private static func request(system: JSONValue? = nil, messages: [JSONValue]) throws -> AnthropicRequest {
        var body: JSONObject = ["model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": .array(messages)]
        if let system { body["system"] = system }
        return try AnthropicRequest(json: .object(body), endpoint: .messages)
    }

    @Test("the hash is the same in every process and version: pinned values")
    func pinned() {
        // Bridges of different versions in front of the same GPUs must rank deployments alike:
        // changing these values moves every session.
        #expect(StableHash.of("") == 0x144A_68CF_7F60_8E7B)
        #expect(StableHash.of(Self.sessionID) == 0x459D_EFD6_2205_4284)
        #expect(StableHash.of("ab") != StableHash.of("ba"))
        var split = StableHash()
        split.combine("a")
        split.combine("bc")
        var joined = StableHash()
        joined.combine("ab")
        joined.combine("c")
        #expect(split.value != joined.value)
    }

    @Test("the header's session id and the same id in metadata.user_id make the same key")
    func headerEqualsMetadata() throws {
        let request = try Self.request(messages: [["role": "user", "content": "hi"]])
        let header = try #require(SessionKey(sessionID: Self.sessionID))
        #expect(SessionKey(request: request, metadataSession: Self.sessionID) == header)
        #expect(SessionKey(sessionID: "") == nil)
        #expect(SessionKey(sessionID: String(repeating: "x", count: 129)) == nil)
        #expect(SessionKey(sessionID: String(repeating: "x", count: 128)) != nil)
    }

    @Test("without a session id: the system prompt and first user message, unchanged by later turns")
    func promptKey() throws {
        let system: JSONValue = [["type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.a1b"], ["type": "text", "text": "You are Claude Code."]]
        let first: JSONValue = ["role": "user", "content": [["type": "text", "text": "<system-reminder>ctx</system-reminder>"], ["type": "text", "text": "fix the bug"]]]
        let turn1 = try #require(SessionKey(request: Self.request(system: system, messages: [first]), metadataSession: nil))
        let turn3 = try #require(SessionKey(request: Self.request(system: system, messages: [
            first, ["role": "assistant", "content": "looking"], ["role": "user", "content": "and the tests"],
        ]), metadataSession: nil))
        #expect(turn1 == turn3)
        let otherTask = SessionKey(request: try Self.request(system: system, messages: [["role": "user", "content": "write docs"]]), metadataSession: nil)
        #expect(otherTask != turn1)
        let otherSession: JSONValue = [["type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.f00"], ["type": "text", "text": "You are Claude Code."]]
        #expect(SessionKey(request: try Self.request(system: otherSession, messages: [first]), metadataSession: nil) != turn1)
        // A metadata session id that is not Claude Code's (too long) falls back to the prompt.
        #expect(SessionKey(request: try Self.request(system: system, messages: [first]), metadataSession: String(repeating: "s", count: 500)) == turn1)
    }

    @Test("RoutingRequest hands the router the model and a key computed on demand")
    func routingRequest() throws {
        let body = JSONValue.object([
            "model": "claude-x", "max_tokens": 8,
            "metadata": ["user_id": .string(#"{"device_id":"d","account_uuid":"","session_id":"\#(Self.sessionID)"}"#)],
            "messages": [["role": "user", "content": "hi"]],
        ]).jsonBytes
        var seen: RoutingRequest?
        _ = try MessagesRequestTranslation.translate(body: body, endpoint: .messages) { (routing: RoutingRequest) throws(AnthropicError) in
            seen = routing
            return "m"
        }
        #expect(seen?.model == "claude-x")
        #expect(seen?.sessionKey() == SessionKey(sessionID: Self.sessionID))
    }
}
