// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import Testing

@Suite("SSE decoder: line ends at every offset")
struct SSEDecoderLineEndTests {
    /// Events whose `data:` lines have every length from 0 to 40, so each line end falls at every
    /// position of the eight-byte words the decoder tests at a time.
    static let payloads: [[UInt8]] = (0...40).map { length in (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 10) } }

    static func stream(lineEnd: String) -> [UInt8] {
        payloads.flatMap { Array("data: ".utf8) + $0 + Array((lineEnd + lineEnd).utf8) }
    }

    @Test("\\n, \\r\\n and \\r line ends give the same events, fed whole, byte by byte and in 7-byte pieces",
          arguments: ["\n", "\r\n", "\r"])
    func everyLineEndEveryFeeding(lineEnd: String) throws {
        let bytes = Self.stream(lineEnd: lineEnd)
        var whole = SSEDecoder()
        #expect(try whole.feed(bytes) == Self.payloads)
        for pieceLength in [1, 7] {
            var decoder = SSEDecoder()
            var events: [[UInt8]] = []
            var start = 0
            while start < bytes.count {
                let end = min(start + pieceLength, bytes.count)
                events += try decoder.feed(Array(bytes[start..<end]))
                start = end
            }
            #expect(events == Self.payloads, "pieces of \(pieceLength)")
        }
    }

    @Test("a line longer than the bound is refused whether it arrives whole or in pieces")
    func longLineRefused() {
        let line = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 100) + Array("\n\n".utf8)
        var whole = SSEDecoder(maximumEventLength: 64)
        #expect(throws: SSEDecoderError.eventTooLarge(limit: 64)) { try whole.feed(line) }
        var pieces = SSEDecoder(maximumEventLength: 64)
        #expect(throws: SSEDecoderError.eventTooLarge(limit: 64)) {
            for byte in line { _ = try pieces.feed([byte]) }
        }
    }
}
