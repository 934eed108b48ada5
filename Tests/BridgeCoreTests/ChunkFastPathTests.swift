// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Foundation
import Testing

/// `ChatCompletionChunk(commonChunkBytes:)` reads vLLM's common chunk without a JSON tree; whatever it
/// reads must be exactly what the tree reading gives, and anything it does not know it must leave to
/// the tree.
@Suite struct ChunkFastPathTests {
    /// Every SSE fixture of the shared protocol directory.
    static let sseFixtures: [String] = {
        let root = Fixtures.directory
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return folders.sorted().flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? [])
                .filter { $0.hasSuffix(".sse") }.sorted().map { "\(folder)/\($0)" }
        }
    }()

    /// The vLLM fixtures of ordinary answers: the fast path must read every chunk of them.
    static let commonVLLMStreams = [
        "vllm/vllm-stream-text-stop-with-usage.sse",
        "vllm/vllm-qwen3coder-stream-reasoning-text-two-tool-calls.sse",
        "vllm/vllm-qwen3-reasoning-stream-both-fields-v0.11.sse",
        "vllm/vllm-qwen3-reasoning-stream-reasoning-only-v0.17.sse",
        "vllm/vllm-qwen3-stream-reasoning-truncated-length.sse",
    ]

    @Test func theFixtureDirectoryHasTheStreamFixtures() {
        #expect(Self.sseFixtures.count >= 10)
        for name in Self.commonVLLMStreams { #expect(Self.sseFixtures.contains(name)) }
    }

    @Test(arguments: sseFixtures)
    func fastAndTreeReadingsAgreeOnEveryFixturePayload(_ name: String) throws {
        for payload in try Fixtures.ssePayloads(name) {
            #expect(UpstreamStreamItem(data: payload) == UpstreamStreamItem(treeData: payload), "\(String(decoding: payload, as: UTF8.self))")
        }
    }

    @Test(arguments: commonVLLMStreams)
    func theFastPathReadsEveryChunkOfAnOrdinaryVLLMStream(_ name: String) throws {
        let chunks = try Fixtures.ssePayloads(name).filter { !$0.elementsEqual("[DONE]".utf8) }
        #expect(!chunks.isEmpty)
        for payload in chunks {
            let fast = ChatCompletionChunk(commonChunkBytes: payload)
            #expect(fast != nil, "not read fast: \(String(decoding: payload, as: UTF8.self))")
            #expect(fast.map(UpstreamStreamItem.chunk) == UpstreamStreamItem(treeData: payload))
        }
    }

    /// Inputs at the edges of the fast path's shape, and whether it reads them itself.
    static let edgeCases: [(String, Bool)] = [
        (#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a\nb\"c\\d\/e\tf\rg\bh\fi"},"logprobs":null,"finish_reason":null}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"content":"\u0041"}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"content":"\ud83d\ude00"}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"content":"é日本"}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"content":"a\x"}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"content":"a","content":"b"}}]}"#, false),
        (#"{"id":"a","id":"b","choices":[]}"#, false),
        (#"{ "choices":[]}"#, false),
        (#"{"choices":[]} "#, false),
        (#"{"choices":[]}x"#, false),
        (#"{"choices":[]"#, false),
        (#"{}"#, true),
        (#"{"#, false),
        (#""#, false),
        (#"[DONE]"#, false),
        (#"{"choices":[{"index":1,"delta":{"content":"x"}}]}"#, false),
        (#"{"choices":[{"delta":{"content":"x"}}]}"#, true),
        (#"{"choices":[{"index":0.0,"delta":{"content":"x"}}]}"#, false),
        (#"{"choices":[{"index":-0,"delta":{"content":"x"}}]}"#, true),
        (#"{"choices":[{"index":00,"delta":{"content":"x"}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"content":"x"}},{"index":1,"delta":{"content":"y"}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":null}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151645}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"</s>"}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"\u0031"}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":1.5}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"reasoning":null,"reasoning_content":"r"}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"reasoning":"a","reasoning_content":"b"}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}"#, true),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"Edit","arguments":""}}]}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"{\"a\":1}"}},{"function":{"arguments":"x"}}]}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":[1]}}]}"#, false),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":null}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":[]}}]}"#, true),
        (#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":"f"}]}}]}"#, false),
        (#"{"choices":[],"usage":{"prompt_tokens":12,"total_tokens":40,"completion_tokens":28,"prompt_tokens_details":{"cached_tokens":8}}}"#, true),
        (#"{"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":999999999999999999}}"#, true),
        (#"{"choices":[],"usage":{"prompt_tokens":9999999999999999999}}"#, false),
        (#"{"choices":[],"usage":{"prompt_tokens":1e3}}"#, false),
        (#"{"choices":[],"usage":{"prompt_tokens":"12"}}"#, false),
        (#"{"choices":[],"usage":null}"#, true),
        (#"{"choices":[],"usage":{"prompt_tokens_details":{}}}"#, true),
        (#"{"choices":[],"usage":{"prompt_tokens_details":null}}"#, true),
        (#"{"object":"error","message":"boom","code":500}"#, false),
        (#"{"error":{"message":"boom","code":400}}"#, false),
        (#"{"object":"chat.completion.chunk","service_tier":null,"choices":[]}"#, false),
        (#"{"\u0069d":"x","choices":[]}"#, false),
        (#"{"id":null,"system_fingerprint":"fp","choices":[]}"#, true),
        ("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tab\tinside\"}}]}", false),
    ]

    @Test func fastAndTreeReadingsAgreeOnEdgeCases() {
        for (text, readFast) in Self.edgeCases {
            let bytes = Array(text.utf8)
            #expect((ChatCompletionChunk(commonChunkBytes: bytes) != nil) == readFast, "\(text)")
            #expect(UpstreamStreamItem(data: bytes) == UpstreamStreamItem(treeData: bytes), "\(text)")
        }
    }

    @Test func invalidUTF8LeavesTheFastPathAndIsRefusedByTheTree() {
        var bytes = Array(#"{"choices":[{"index":0,"delta":{"content":"ab"}}]}"#.utf8)
        bytes.insert(0xC3, at: bytes.firstIndex(of: UInt8(ascii: "b"))!)
        #expect(ChatCompletionChunk(commonChunkBytes: bytes) == nil)
        guard case .error = UpstreamStreamItem(data: bytes) else {
            Issue.record("invalid UTF-8 was read as a chunk")
            return
        }
    }

    @Test func theFastPathReadsTheValuesTheTreeReads() throws {
        let bytes = Array(#"{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning_content":"r","content":"c","tool_calls":[{"index":2,"id":"call_9","function":{"name":"Read","arguments":"{}"}}]},"finish_reason":"tool_calls","stop_reason":7}],"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}}"#.utf8)
        let chunk = try #require(ChatCompletionChunk(commonChunkBytes: bytes))
        #expect(chunk == ChatCompletionChunk(
            id: "chatcmpl-1", reasoning: "r", content: "c",
            toolCalls: [.init(index: 2, id: "call_9", name: "Read", arguments: "{}")],
            finishReason: "tool_calls", stopReason: .number("7"),
            usage: .init(promptTokens: 3, completionTokens: 4, cachedTokens: 2)
        ))
    }

    /// Single-byte changes of every fixture payload (a deterministic sample): both readings agree on
    /// each mutant, whichever reads it.
    @Test func fastAndTreeReadingsAgreeOnMutatedPayloads() throws {
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array(#"{}[]:,"\/ 0123456789-.eEnulltruefalse\u"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var readFast = 0
        for name in Self.commonVLLMStreams {
            for payload in try Fixtures.ssePayloads(name) where !payload.isEmpty {
                for _ in 0..<40 {
                    var mutant = payload
                    let position = Int(generator.next() % UInt64(mutant.count))
                    switch generator.next() % 3 {
                    case 0: mutant[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                    case 1: mutant.remove(at: position)
                    default: mutant.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                    }
                    if ChatCompletionChunk(commonChunkBytes: mutant) != nil { readFast += 1 }
                    #expect(UpstreamStreamItem(data: mutant) == UpstreamStreamItem(treeData: mutant), "\(String(decoding: mutant, as: UTF8.self))")
                }
            }
        }
        #expect(readFast > 0)
    }
}

/// A small deterministic generator for the mutation tests of this module.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_E5B9_E2B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
