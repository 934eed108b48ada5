// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import Testing

@Suite("Usage read from a relayed Anthropic answer")
struct RelayedUsageReaderTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("a whole message's usage, fed in pieces")
    func wholeMessage() {
        var reader = RelayedUsageReader(streams: false)
        let body = Self.bytes(#"{"type":"message","content":[],"usage":{"input_tokens":21,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":9}}"#)
        reader.feed(Array(body[..<10]))
        reader.feed(Array(body[10...]))
        #expect(reader.finish() == AnthropicUsage(inputTokens: 21, outputTokens: 9, cacheCreationInputTokens: 2, cacheReadInputTokens: 3))
    }

    @Test("count_tokens' input_tokens; an error or non-JSON body has none")
    func countAndErrors() {
        var count = RelayedUsageReader(streams: false)
        count.feed(Self.bytes(#"{"input_tokens":4242}"#))
        #expect(count.finish() == AnthropicUsage(inputTokens: 4242))
        var error = RelayedUsageReader(streams: false)
        error.feed(Self.bytes(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        #expect(error.finish() == nil)
        var garbage = RelayedUsageReader(streams: false)
        garbage.feed(Self.bytes("<html>"))
        #expect(garbage.finish() == nil)
    }

    @Test("a stream's message_start usage, updated by message_delta, split anywhere")
    func stream() {
        let text = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":31,\"output_tokens\":1}}}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"message_delta\"}}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":12,\"cache_read_input_tokens\":5}}\n\n"
        for split in [1, 37, 100, 180] {
            var reader = RelayedUsageReader(streams: true)
            let bytes = Self.bytes(text)
            reader.feed(Array(bytes[..<split]))
            reader.feed(Array(bytes[split...]))
            #expect(reader.finish() == AnthropicUsage(inputTokens: 31, outputTokens: 12, cacheReadInputTokens: 5))
        }
    }

    @Test("hostile counts are clamped; a body past the bound is given up on, not kept")
    func bounds() {
        var huge = RelayedUsageReader(streams: false)
        huge.feed(Self.bytes(#"{"usage":{"input_tokens":99999999999999999999999,"output_tokens":-5}}"#))
        #expect(huge.finish() == AnthropicUsage(inputTokens: Int(Int32.max), outputTokens: 0))
        var large = RelayedUsageReader(streams: false)
        large.feed(Self.bytes(#"{"usage":{"input_tokens":1},"pad":""#))
        large.feed([UInt8](repeating: 0x61, count: RelayedUsageReader.maximumBodyBytes))
        large.feed(Self.bytes(#""}"#))
        #expect(large.finish() == nil)
        var longEvent = RelayedUsageReader(streams: true)
        longEvent.feed(Self.bytes("data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}},\"pad\":\""))
        longEvent.feed([UInt8](repeating: 0x61, count: RelayedUsageReader.maximumEventBytes + 1))
        longEvent.feed(Self.bytes("\"}\n\n"))
        #expect(longEvent.finish() == nil)
    }

    /// Seeded mutations of the events between `message_start` and `message_delta` (no line ends
    /// added), split at a random byte: whatever the API sent there, the usage is read the same.
    @Test("garbage between the usage events changes nothing, wherever the bytes are split")
    func mutatedMiddle() {
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":31,\"output_tokens\":1}}}\n\n"
        let middle = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"\\u00e9\"}}\n\n"
        let end = "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":12}}\n\n"
        let alphabet = Array(#"{}[]:,"\/ 0123456789-.eEnulltruefalse\u"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var generator = SplitMix64(seed: 0xA17E)
        for _ in 0..<2000 {
            var mutant = Self.bytes(middle)
            // Mutate the data line only (after "event: …\n" and "data: "), never its line end.
            let first = "event: content_block_delta\ndata: ".utf8.count
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = first + Int(generator.next() % UInt64(mutant.count - first - 2))
                switch generator.next() % 3 {
                case 0: mutant[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: mutant.remove(at: position)
                default: mutant.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                }
            }
            let stream = Self.bytes(start) + mutant + Self.bytes(end)
            let split = Int(generator.next() % UInt64(stream.count))
            var reader = RelayedUsageReader(streams: true)
            reader.feed(Array(stream[..<split]))
            reader.feed(Array(stream[split...]))
            #expect(reader.finish() == AnthropicUsage(inputTokens: 31, outputTokens: 12), "\(String(decoding: mutant, as: UTF8.self))")
        }
    }
}
