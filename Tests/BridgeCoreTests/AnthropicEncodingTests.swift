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

    @Test("per-token events written without the JSON tree are the bytes the tree writes", arguments: [0, 7, 10, 12_345, Int.max, -3])
    func perTokenEventsMatchTheTree(index: Int) {
        let texts = ["", "plain", "quote \" backslash \\ newline \n tab \t", "\u{1}\u{1F}", "naïve 漢字 🚀"]
        var events: [AnthropicStreamEvent] = [.contentBlockStop(index: index)]
        for text in texts {
            events += [
                .contentBlockDelta(index: index, delta: .text(text)),
                .contentBlockDelta(index: index, delta: .inputJSON(text)),
                .contentBlockDelta(index: index, delta: .thinking(text)),
                .contentBlockDelta(index: index, delta: .signature(text)),
            ]
        }
        for event in events {
            let viaTree = Array("event: \(event.name)\ndata: ".utf8) + event.json.jsonBytes + Array("\n\n".utf8)
            #expect(event.sseBytes == viaTree, "\(event)")
        }
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
