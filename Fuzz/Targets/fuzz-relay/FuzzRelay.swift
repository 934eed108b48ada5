// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import FuzzSupport

/// Arbitrary bytes as an Anthropic API answer the bridge relays untranslated, read for its usage by
/// ``RelayedUsageReader`` (the request log's tokens).
///
/// Input layout: byte 0 picks a stream (odd) or a whole answer (even); byte 1 sets the size of the
/// pieces the bytes arrive in; the rest is the answer. Never a trap; every count read is within
/// 0...`ChatCompletionChunk.Usage.maximumTokens`; and the usage does not depend on how the bytes were
/// split (the reader sees what a relay delivers, in whatever pieces the transport hands it).
@main
enum FuzzRelay {
    static func main() { runFuzzer(test) }

    static let test: FuzzTest = { data, size in
        let input = fuzzBytes(data, size)
        guard input.count >= 2 else { return 0 }
        let streams = input[0] & 1 == 1
        let pieceSize = Int(input[1]) + 1
        let body = Array(input[2...])

        let whole = read(body, streams: streams, pieceSize: body.count + 1)
        let pieces = read(body, streams: streams, pieceSize: pieceSize)
        fuzzCheck(whole == pieces, "the usage depends on how the answer was split: \(String(describing: whole)) vs \(String(describing: pieces))")
        if let usage = whole {
            let counts = [usage.inputTokens, usage.outputTokens, usage.cacheCreationInputTokens, usage.cacheReadInputTokens]
            fuzzCheck(counts.allSatisfy { (0...ChatCompletionChunk.Usage.maximumTokens).contains($0) }, "a count out of range: \(counts)")
        }
        return 0
    }

    /// The usage `RelayedUsageReader` reads from `body` fed in pieces of `pieceSize` bytes.
    static func read(_ body: [UInt8], streams: Bool, pieceSize: Int) -> AnthropicUsage? {
        var reader = RelayedUsageReader(streams: streams)
        var start = 0
        while start < body.count {
            let end = min(start + pieceSize, body.count)
            reader.feed(Array(body[start..<end]))
            start = end
        }
        return reader.finish()
    }
}
