// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import NIOCore
import NIOEmbedded
import Testing

@Suite("Control line framing")
struct ControlLineDecoderTests {
    /// Feeds `chunks` to a decoder with a 16-byte limit (then end of file) and returns what came out.
    func decode(_ chunks: [String], limit: Int = 16) throws -> [String] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ControlLineDecoder(maxLength: limit)))
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(string: chunk))
        }
        _ = try channel.finish(acceptAlreadyClosed: true)
        var lines: [String] = []
        while let line = try channel.readInbound(as: ControlLine.self) {
            switch line {
            case .line(let buffer): lines.append(String(buffer: buffer))
            case .tooLong: lines.append("<too long>")
            }
        }
        return lines
    }

    @Test("lines split across reads and several lines in one read come out whole")
    func splitting() throws {
        #expect(try decode(["ab", "c\nde", "f\ng\n"]) == ["abc", "def", "g"])
    }

    @Test("a carriage return before the newline is dropped, empty lines are lines")
    func crlf() throws {
        #expect(try decode(["one\r\n\n"]) == ["one", ""])
    }

    @Test("a line of exactly the limit passes; one byte more is too long")
    func limit() throws {
        #expect(try decode([String(repeating: "a", count: 16) + "\n"]) == [String(repeating: "a", count: 16)])
        #expect(try decode([String(repeating: "a", count: 17) + "\nok\n"]) == ["<too long>", "ok"])
    }

    @Test("an oversized line arriving in pieces is reported once and skipped to its newline")
    func oversizedInPieces() throws {
        #expect(try decode([String(repeating: "x", count: 20), String(repeating: "x", count: 40), "xx\nnext\n"]) == ["<too long>", "next"])
    }

    @Test("the bytes after the last newline are a line at end of file, unless they are an oversized rest")
    func endOfFile() throws {
        #expect(try decode(["a\nlast"]) == ["a", "last"])
        #expect(try decode(["a\n" + String(repeating: "x", count: 30)]) == ["a", "<too long>"])
    }
}
