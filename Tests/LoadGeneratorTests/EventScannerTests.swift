// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import LoadGenerator

/// The scanner must count exactly what a client sees in real streams, however the bytes are split.
@Suite struct EventScannerTests {
    static let protocolDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../shared/protocol").standardizedFileURL

    static func fixture(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: protocolDirectory.appendingPathComponent(path)))
    }

    /// Feeds `bytes` in pieces of `size` and returns the scanner.
    static func scan(_ bytes: [UInt8], dialect: APIDialect, pieceSize size: Int) -> EventScanner {
        var scanner = EventScanner(dialect: dialect)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            _ = bytes[offset..<end].withUnsafeBytes { scanner.consume($0) }
            offset = end
        }
        scanner.finish()
        return scanner
    }

    @Test(arguments: [1, 2, 7, 64, 100_000])
    func anthropicTextStream(pieceSize: Int) throws {
        let bytes = try Self.fixture("anthropic/anthropic-stream-text.sse")
        let text = String(decoding: bytes, as: UTF8.self)
        let deltas = text.components(separatedBy: "event: content_block_delta").count - 1
        let events = text.components(separatedBy: "\nevent: ").count - (text.hasPrefix("event: ") ? 0 : 1)
        let scanner = Self.scan(bytes, dialect: .anthropic, pieceSize: pieceSize)
        #expect(deltas > 0)
        #expect(scanner.tokenEvents == deltas)
        #expect(scanner.events == events)
        #expect(scanner.sawEnd)
        #expect(!scanner.sawError)
    }

    @Test func anthropicErrorStream() throws {
        let scanner = Self.scan(try Self.fixture("anthropic/anthropic-stream-error-overloaded.sse"), dialect: .anthropic, pieceSize: 5)
        #expect(scanner.sawError)
        #expect(!scanner.sawEnd)
    }

    @Test(arguments: [1, 3, 100_000])
    func openAIStream(pieceSize: Int) throws {
        let bytes = try Self.fixture("openai/openai-chunk-stream-text-with-usage.sse")
        let text = String(decoding: bytes, as: UTF8.self)
        let chunks = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
        let contentChunks = chunks.filter { $0.contains("\"content\":\"") && !$0.contains("\"content\":\"\"") }
        let scanner = Self.scan(bytes, dialect: .openAI, pieceSize: pieceSize)
        #expect(!contentChunks.isEmpty)
        #expect(scanner.tokenEvents == contentChunks.count)
        #expect(scanner.sawEnd)
    }

    @Test func eventNamesFromDataOnlyEvents() {
        #expect(EventScanner.anthropicEventName(Array("data: {\"type\": \"content_block_delta\", \"index\": 0}".utf8)) == "content_block_delta")
        #expect(EventScanner.anthropicEventName(Array("data: {\"type\":\"message_stop\"}".utf8)) == "message_stop")
        #expect(EventScanner.anthropicEventName(Array("event: ping\ndata: {\"type\": \"ping\"}".utf8)) == "ping")
        #expect(EventScanner.anthropicEventName(Array(": comment".utf8)) == "")
    }

    @Test func percentilesUseNearestRank() {
        let values = (1...100).map { Int64($0) }
        let summary = Percentiles(values.shuffled())
        #expect(summary.p50 == 50)
        #expect(summary.p90 == 90)
        #expect(summary.p99 == 99)
        #expect(summary.max == 100)
        #expect(Percentiles([]).p99 == 0)
    }
}
