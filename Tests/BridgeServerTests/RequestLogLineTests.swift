// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import Logging
import Testing
@testable import BridgeServer

/// The completion line of a request, as text and as structured fields: what operators grep for and
/// journald indexes. Times vary, so they are read as numbers and the rest is compared exactly.
@Suite struct RequestLogLineTests {
    /// The line `record` logs with `status`, with its times replaced by `T` and `D`.
    static func logged(_ record: RequestRecord, status: Int?) throws -> (text: String, metadata: Logger.Metadata) {
        let capture = LogCapture()
        record.log(status: status, to: capture.logger, metrics: BridgeMetrics())
        let line = try #require(capture.lines.first)
        #expect(capture.lines.count == 1)
        let text = line.message.replacing(/ttft_ms=\d+/, with: "ttft_ms=T").replacing(/duration_ms=\d+/, with: "duration_ms=D")
        return (text, line.metadata)
    }

    @Test func aRoutedRequestLogsEveryFieldInTextAndMetadata() throws {
        let record = RequestRecord(requestID: "req_0123", method: "POST", path: "/v1/messages", route: .messages)
        record.clientModel = "claude-sonnet-4-5"
        record.alias = "sonnet"
        record.backendModel = "Qwen/Qwen3-Coder"
        record.backend = "gpu-a"
        record.markFirstToken()
        record.usage = AnthropicUsage(inputTokens: 10, outputTokens: 7, cacheReadInputTokens: 5)
        record.upstreamCalls = 2
        record.keepalivePings = 3
        record.addNote("max_tokens clamped")
        let (text, metadata) = try Self.logged(record, status: 200)
        #expect(text == "req_0123 POST /v1/messages claude-sonnet-4-5 (alias sonnet) -> Qwen/Qwen3-Coder @ gpu-a status=200 ttft_ms=T duration_ms=D tokens_in=15 tokens_out=7 upstream_calls=2 pings=3 (max_tokens clamped)")
        #expect(Set(metadata.keys) == ["REQUEST_ID", "STATUS", "DURATION_MS", "ALIAS", "BACKEND_MODEL", "BACKEND", "TTFT_MS", "INPUT_TOKENS", "OUTPUT_TOKENS", "UPSTREAM_CALLS", "KEEPALIVE_PINGS"])
        #expect(metadata["REQUEST_ID"] == "req_0123")
        #expect(metadata["STATUS"] == "200")
        #expect(metadata["ALIAS"] == "sonnet")
        #expect(metadata["BACKEND_MODEL"] == "Qwen/Qwen3-Coder")
        #expect(metadata["BACKEND"] == "gpu-a")
        #expect(metadata["INPUT_TOKENS"] == "15")
        #expect(metadata["OUTPUT_TOKENS"] == "7")
        #expect(metadata["UPSTREAM_CALLS"] == "2")
        #expect(metadata["KEEPALIVE_PINGS"] == "3")
        #expect(metadata["DURATION_MS"].flatMap { Int("\($0)") } != nil)
        #expect(metadata["TTFT_MS"].flatMap { Int("\($0)") } != nil)
    }

    @Test("the hops of a retried and fallen-back request: each failed call, then where it was answered")
    func hopsNameEveryCall() throws {
        let record = RequestRecord(requestID: "req_h", method: "POST", path: "/v1/messages", route: .messages)
        record.clientModel = "claude-opus-4-5"
        record.alias = "claude-sonnet-*"
        record.backendModel = "Qwen/Qwen3-Coder"
        record.backend = "127.0.0.1:8002"
        record.hop("claude-opus-4-5@127.0.0.1:8001:503")
        record.hopTarget = "claude-sonnet-4-5"
        let (text, metadata) = try Self.logged(record, status: 200)
        #expect(text.contains(" hops=claude-opus-4-5@127.0.0.1:8001:503>claude-sonnet-4-5@127.0.0.1:8002 status=200 "))
        #expect(metadata["HOPS"] == "claude-opus-4-5@127.0.0.1:8001:503>claude-sonnet-4-5@127.0.0.1:8002")

        // Given up after the last failure: no target after it.
        let relayed = RequestRecord(requestID: "req_r", method: "POST", path: "/v1/messages", route: .messages)
        relayed.clientModel = "m"
        relayed.backend = "b"
        relayed.hop("m@b:503")
        relayed.hop("m@b:503")
        #expect(try Self.logged(relayed, status: 529).text.contains(" hops=m@b:503>m@b:503 status=529 "))

        // A client's long model name is clipped, and the list is bounded.
        let hostile = RequestRecord(requestID: "req_x", method: "POST", path: "/v1/messages", route: .messages)
        for _ in 0..<100 { hostile.hop(String(repeating: "x", count: 1000) + "@b:503") }
        #expect(hostile.hops.count == FallbackChain.maximumHops)
        #expect(hostile.hops.allSatisfy { $0.count <= RequestRecord.maximumLoggedField + 1 })
    }

    @Test func aRequestWithoutModelLogsStatusAndDurationOnly() throws {
        let record = RequestRecord(requestID: "req_1", method: "GET", path: "/health", route: .health)
        let (text, metadata) = try Self.logged(record, status: nil)
        #expect(text == "req_1 GET /health status=0 duration_ms=D")
        #expect(Set(metadata.keys) == ["REQUEST_ID", "STATUS", "DURATION_MS"])
        #expect(metadata["STATUS"] == "0")
    }

    @Test func theAliasIsTheModelWhenTheyMatchAndTheTargetShowsWhatIsKnown() throws {
        let record = RequestRecord(requestID: "req_2", method: "POST", path: "/v1/messages", route: .messages)
        record.clientModel = "qwen"
        record.alias = "qwen"
        record.backendModel = "Qwen/Qwen3"
        let (text, metadata) = try Self.logged(record, status: 404)
        #expect(text == "req_2 POST /v1/messages qwen -> Qwen/Qwen3 status=404 duration_ms=D")
        #expect(metadata["ALIAS"] == "qwen")
        #expect(metadata["BACKEND"] == nil)

        let unrouted = RequestRecord(requestID: "req_3", method: "POST", path: "/v1/messages", route: .messages)
        unrouted.clientModel = "mystery\nmodel"
        let (unroutedText, unroutedMetadata) = try Self.logged(unrouted, status: 404)
        #expect(unroutedText == "req_3 POST /v1/messages mystery\nmodel status=404 duration_ms=D")
        #expect(unroutedMetadata["ALIAS"] == "mystery\nmodel")
    }
}
