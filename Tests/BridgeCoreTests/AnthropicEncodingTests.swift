// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

@Suite("Anthropic wire encoding")
struct AnthropicEncodingTests {
    @Test("an error event is written as Anthropic writes it")
    func errorEventBytes() {
        let event = AnthropicError(.overloaded, "Overloaded").streamEvent
        #expect(String(decoding: event.sseBytes, as: UTF8.self)
            == "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
    }

    @Test("every error kind carries the status of Anthropic's error table")
    func statuses() {
        let table: [AnthropicError.Kind: Int] = [
            .invalidRequest: 400, .authentication: 401, .permission: 403, .notFound: 404,
            .requestTooLarge: 413, .rateLimit: 429, .api: 500, .overloaded: 529,
        ]
        for kind in AnthropicError.Kind.allCases { #expect(kind.httpStatus == table[kind]) }
    }
}
