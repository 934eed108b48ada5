// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// The one entry point from a request body to the backend request, as the daemon and the benchmarks use it.
@Suite("Messages request translation entry point")
struct MessagesRequestTranslationTests {
    static let session = "9b1c8f2e-5d4a-4c3b-8a7f-0e6d5c4b3a21"

    static func body(stream: Bool = true) -> [UInt8] {
        let userID = #"{"device_id":"d","account_uuid":"","session_id":"\#(session)"}"#
        let body: JSONValue = [
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "stream": .bool(stream),
            "metadata": ["user_id": .string(userID)],
            "messages": [["role": "user", "content": "hi"]],
        ]
        return body.jsonBytes
    }

    @Test("a valid body is translated for the model the resolver names, with its session and stream flag")
    func translates() throws {
        var asked: [String] = []
        let translation = try MessagesRequestTranslation.translate(body: Self.body(), endpoint: .messages) { (model: String) throws(AnthropicError) in
            asked.append(model)
            return "Qwen/Qwen3-Coder"
        }
        #expect(asked == ["claude-sonnet-4-5"])
        #expect(translation.clientModel == "claude-sonnet-4-5")
        #expect(translation.translated.body["model"] == "Qwen/Qwen3-Coder")
        #expect(translation.session == Self.session)
        #expect(translation.streams)
        let whole = try MessagesRequestTranslation.translate(body: Self.body(stream: false), endpoint: .messages) { (_: String) throws(AnthropicError) in "m" }
        #expect(!whole.streams)
    }

    @Test("count_tokens never streams and needs no max_tokens")
    func countTokens() throws {
        let body: JSONValue = ["model": "claude-sonnet-4-5", "stream": true, "messages": [["role": "user", "content": "hi"]]]
        let translation = try MessagesRequestTranslation.translate(body: body.jsonBytes, endpoint: .countTokens) { (_: String) throws(AnthropicError) in "m" }
        #expect(!translation.streams)
        #expect(translation.translated.tokenizeBody["model"] == "m")
    }

    @Test("a body that is not JSON or not a valid request is an invalid_request_error, and the resolver is not asked")
    func invalidBodies() {
        for body in [Array("{not json".utf8), Array(#"{"model":"x","messages":[]}"#.utf8)] {
            var asked = false
            #expect(throws: AnthropicError.self) {
                try MessagesRequestTranslation.translate(body: body, endpoint: .messages) { (_: String) throws(AnthropicError) in
                    asked = true
                    return "m"
                }
            }
            #expect(!asked)
            do {
                _ = try MessagesRequestTranslation.translate(body: body, endpoint: .messages) { (_: String) throws(AnthropicError) in "m" }
            } catch {
                #expect(error.kind == .invalidRequest)
            }
        }
    }

    @Test("the resolver's error (an unknown model, no backend up) is the error the client gets")
    func resolverError() {
        let refusal = AnthropicError(.notFound, "model: claude-sonnet-4-5 is not served")
        do {
            _ = try MessagesRequestTranslation.translate(body: Self.body(), endpoint: .messages) { (_: String) throws(AnthropicError) in throw refusal }
            Issue.record("expected the resolver's error")
        } catch {
            #expect(error == refusal)
        }
    }
}
