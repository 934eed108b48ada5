// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import ControlProtocol
import NIOConcurrencyHelpers
import Testing

@Suite("The rolling window behind sparkctl top")
struct ActivityWindowTests {
    @Test("finished requests, errors and TTFT percentiles count over the last 60 seconds only")
    func minuteWindow() {
        var window = ActivityWindow()
        for second in Int64(1000)..<1100 {
            window.recordFinished(at: second, timeToFirstTokenMs: second < 1050 ? 5000 : 120, failed: second % 10 == 0)
        }
        let summary = window.summary(now: 1099, sparklinePoints: 20)
        #expect(summary.finished == 60)
        #expect(summary.errors == 6)
        // Every sample in the window is 120 ms except the ten from 1040 to 1049 (5 s).
        let median = summary.ttftP50Ms ?? 0
        #expect(median > 100 && median <= 150, "\(median)")
        let p99 = summary.ttftP99Ms ?? 0
        #expect(p99 > 3000 && p99 <= 5000, "\(p99)")
        #expect(window.summary(now: 1200, sparklinePoints: 20).finished == 0)
    }

    @Test("memory is a ring of 60 seconds: a second far in the future reuses a bucket, a late one is dropped")
    func ringReuse() {
        var window = ActivityWindow()
        window.recordFinished(at: 10, timeToFirstTokenMs: nil, failed: false)
        window.recordFinished(at: 70, timeToFirstTokenMs: nil, failed: true)
        window.recordFinished(at: 10, timeToFirstTokenMs: nil, failed: false)
        let summary = window.summary(now: 70, sparklinePoints: 20)
        #expect(summary.finished == 1 && summary.errors == 1)
        #expect(window.isIdle(now: 200) && !window.isIdle(now: 100))
    }

    @Test("tokens per second average the last 10 complete seconds; the current one is left out")
    func tokenRate() {
        var window = ActivityWindow()
        for second in Int64(90)...100 { window.recordOutputTokens(40, at: second) }
        window.recordOutputTokens(1000, at: 80)
        let summary = window.summary(now: 100, sparklinePoints: 20)
        #expect(summary.recentOutputTokens == 400)
        #expect(summary.outputTokensPerSecond == 40)
    }

    @Test("the sparkline has one median per 3 seconds, oldest first, nil where nothing finished")
    func sparkline() {
        var window = ActivityWindow()
        window.recordFinished(at: 41, timeToFirstTokenMs: 100, failed: false)
        window.recordFinished(at: 100, timeToFirstTokenMs: 2000, failed: false)
        let points = window.summary(now: 100, sparklinePoints: 20).ttftSparklineMs
        #expect(points.count == 20)
        #expect(points.first! != nil && points.last! != nil)
        #expect(points.dropFirst().dropLast().allSatisfy { $0 == nil })
        #expect(points.first!! < points.last!!)
    }

    @Test("histogram quantiles interpolate within a bin and stop at the last bound")
    func histogram() {
        var histogram = LatencyHistogram()
        #expect(histogram.quantile(0.5) == nil)
        for _ in 0..<4 { histogram.record(milliseconds: 60) }
        #expect(histogram.quantile(0.5) == 62.5)
        histogram.record(milliseconds: 1e9)
        #expect(histogram.quantile(1) == LatencyHistogram.upperBoundsMs.last)
        #expect(histogram.total == 5)
    }

    @Test("the board counts in-flight requests per alias and backend and forgets idle names")
    func board() {
        let clock = NIOLockedValueBox<Int64>(0)
        let board = ActivityBoard(clock: { clock.withLockedValue { $0 } })
        board.requestStarted(alias: "a", backend: "b1")
        board.streamStarted(alias: "a", backend: "b1")
        board.outputTokens(5, alias: "a", backend: "b1")
        var snapshot = board.snapshot(sparklinePoints: 20)
        #expect(snapshot.aliases["a"]?.requestsInFlight == 1 && snapshot.backends["b1"]?.streamsInFlight == 1)
        clock.withLockedValue { $0 = 1 }
        board.requestFinished(alias: "a", backend: "b1", streamed: true, timeToFirstTokenMs: 90, failed: false, remainingOutputTokens: 3)
        snapshot = board.snapshot(sparklinePoints: 20)
        #expect(snapshot.aliases["a"]?.requestsInFlight == 0 && snapshot.aliases["a"]?.streamsInFlight == 0)
        #expect(snapshot.aliases["a"]?.window.finished == 1)
        clock.withLockedValue { $0 = 2 }
        #expect(board.snapshot(sparklinePoints: 20).backends["b1"]?.window.recentOutputTokens == 8)
        clock.withLockedValue { $0 = 500 }
        board.unroutedRequestFinished(alias: nil, failed: true)
        snapshot = board.snapshot(sparklinePoints: 20)
        #expect(Set(snapshot.aliases.keys) == ["-"])
    }
}

@Suite("The states sparkctl top shows for an alias")
struct AliasStateTests {
    func backend(_ state: BackendState, drained: Bool = false) -> BackendHealth {
        BackendHealth(
            name: "b", url: "http://127.0.0.1:1/v1", state: state, lastCheck: nil, latencyMs: nil, lastError: nil,
            models: [], warm: false, lastWarmupLatencyMs: nil, drained: drained
        )
    }

    @Test("up while a backend that takes requests is up; unknown, drained or down otherwise")
    func states() {
        #expect(ActivityReport.aliasState([backend(.down), backend(.up)]) == "up")
        #expect(ActivityReport.aliasState([backend(.up, drained: true), backend(.unknown)]) == "unknown")
        #expect(ActivityReport.aliasState([backend(.up, drained: true), backend(.down, drained: true)]) == "drained")
        #expect(ActivityReport.aliasState([backend(.up, drained: true), backend(.down)]) == "down")
        #expect(ActivityReport.aliasState([]) == "down")
    }
}

@Suite("The trace hub behind sparkctl trace")
struct TraceHubTests {
    @Test("a reader that does not read loses events beyond its queue, counted, and publishing never waits")
    func boundedQueue() async {
        let hub = TraceHub()
        let subscription = hub.subscribe(alias: nil, bodies: false, capacity: 4)
        for index in 0..<10 { hub.publish(TraceEvent(event: .start, requestID: "req_\(index)", alias: "a")) }
        #expect(subscription.takeDropped() == 6)
        #expect(subscription.takeDropped() == 0)
        var received: [String] = []
        for await event in subscription.events {
            received.append(event.requestID ?? "")
            if received.count == 4 { break }
        }
        #expect(received == ["req_0", "req_1", "req_2", "req_3"])
    }

    @Test("readers get their alias's events; bodies only when they asked; a finished reader is removed")
    func filtering() async {
        let hub = TraceHub()
        #expect(!hub.isListening(alias: "a"))
        let onlyB = hub.subscribe(alias: "b", bodies: false)
        #expect(hub.isListening(alias: "b") && !hub.isListening(alias: "a") && !hub.wantsBodies(alias: "b"))
        let all = hub.subscribe(alias: nil, bodies: true)
        #expect(hub.wantsBodies(alias: "a"))
        hub.publish(TraceEvent(event: .start, requestID: "1", alias: "a"))
        hub.publish(TraceEvent(event: .request, requestID: "2", alias: "b", body: "{}"))
        hub.publish(TraceEvent(event: .end, requestID: "3", alias: "b"))
        var forB: [String] = []
        for await event in onlyB.events {
            forB.append(event.requestID ?? "")
            break
        }
        var forAll: [String] = []
        for await event in all.events {
            forAll.append(event.requestID ?? "")
            if forAll.count == 3 { break }
        }
        #expect(forB == ["3"])
        #expect(forAll == ["1", "2", "3"])
        #expect(hub.readerCount == 2)
        let reader = Task { for await _ in hub.subscribe(alias: nil, bodies: false).events {} }
        for _ in 0..<500 where hub.readerCount != 3 { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(hub.readerCount == 3)
        reader.cancel()
        await reader.value
        #expect(hub.readerCount == 2)
    }
}

@Suite("What trace --bodies may show")
struct TraceRedactionTests {
    @Test("keys, bearer tokens and Claude Code's billing header are redacted; the rest is kept in order")
    func redaction() {
        let body = #"{"model":"m","api_key":"sk-secret","messages":[{"role":"system","content":"x-anthropic-billing-header: cc_version=2.1.3; cc_entrypoint=cli;"},{"role":"user","content":"hi"}],"max_tokens":5,"headers":{"Authorization":"Bearer sk-abc"}}"#
        let text = TraceRedaction.bodyText(Array(body.utf8))
        #expect(text == #"{"model":"m","api_key":"[redacted]","messages":[{"role":"system","content":"x-anthropic-billing-header: [redacted]"},{"role":"user","content":"hi"}],"max_tokens":5,"headers":{"Authorization":"[redacted]"}}"#)
        #expect(!text.contains("sk-") && !text.contains("cc_version"))
    }

    @Test("a stream of server-sent events is redacted as text")
    func eventStream() {
        let stream = "event: content_block_delta\ndata: {\"delta\":{\"text\":\"x-anthropic-billing-header: cc_version=9\"}}\n\n"
        #expect(TraceRedaction.bodyText(Array(stream.utf8)) == "event: content_block_delta\ndata: {\"delta\":{\"text\":\"x-anthropic-billing-header: [redacted]\"}}\n\n")
    }

    @Test("bodies are cut at 64 KiB on a character boundary and say so")
    func truncation() {
        let long = String(repeating: "é", count: TraceEvent.maxBodyBytes)
        let text = TraceRedaction.bodyText(Array(long.utf8))
        #expect(text.hasSuffix("…[truncated]"))
        #expect(text.utf8.count <= TraceEvent.maxBodyBytes + "…[truncated]".utf8.count)
        #expect(!text.contains("\u{FFFD}"))
    }
}
