// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import ControlProtocol
import Foundation
import Testing

/// packaging/grafana/spark-bridge.json only queries series the bridge serves: every metric name in its
/// PromQL must appear in a real /metrics exposition.
@Suite("The shipped Grafana dashboard")
struct GrafanaDashboardTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging/grafana/spark-bridge.json").path

    /// Every PromQL expression of the dashboard: panel targets and template variable queries.
    static func expressions() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var found: [String] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                if let expression = target["expr"] as? String { found.append(expression) }
            }
        }
        let templating = dashboard["templating"] as? [String: Any]
        for variable in templating?["list"] as? [[String: Any]] ?? [] {
            if let definition = variable["definition"] as? String { found.append(definition) }
        }
        return found
    }

    /// The metric names in an exposition: the first word of every sample line.
    static func served(_ exposition: String) -> Set<String> {
        Set(exposition.split(separator: "\n").compactMap { line -> String? in
            guard !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first else { return nil }
            return String(name)
        })
    }

    /// A bridge's metrics after one of every event they count.
    static func exposition() -> String {
        let metrics = BridgeMetrics()
        metrics.recordRequest(
            route: .messages, alias: "claude-*", status: 200, timeToFirstToken: .milliseconds(150), duration: .seconds(1),
            inputTokens: 10, outputTokens: 20
        )
        metrics.recordUpstreamError(kind: "connect", backend: "127.0.0.1:8000")
        metrics.recordInFlight(requests: 1, streams: 1)
        var counters = HealthCounters()
        counters.checks = 2
        counters.checkFailures = 1
        counters.warmupsDone = 1
        counters.warmupFailures = 1
        let up = BackendHealth(
            name: "127.0.0.1:8000", url: "http://127.0.0.1:8000/v1", state: .up, lastCheck: nil, latencyMs: nil, lastError: nil,
            models: [], warm: true, lastWarmupLatencyMs: nil
        )
        return String(decoding: metrics.exposition(health: [up], counters: counters), as: UTF8.self)
    }

    @Test("the dashboard has panels for requests, latency, tokens, in flight, backends up and warmups")
    func panels() throws {
        let expressions = try Self.expressions().joined(separator: "\n")
        for name in [
            "spark_bridge_requests_total", "spark_bridge_time_to_first_token_seconds_bucket", "spark_bridge_request_duration_seconds_bucket",
            "spark_bridge_output_tokens_total", "spark_bridge_requests_in_flight", "spark_bridge_backend_up", "spark_bridge_warmups_total",
        ] {
            #expect(expressions.contains(name), "no panel queries \(name)")
        }
    }

    @Test("every metric the dashboard queries is one /metrics serves")
    func namesExist() throws {
        let served = Self.served(Self.exposition())
        #expect(served.contains("spark_bridge_requests_total"), "\(served.sorted())")
        var queried: Set<String> = []
        for expression in try Self.expressions() {
            var rest = expression[...]
            while let start = rest.range(of: "spark_bridge_") {
                let name = rest[start.lowerBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                queried.insert(String(name))
                rest = rest[name.endIndex...]
            }
        }
        #expect(queried.count >= 10, "\(queried.sorted())")
        for name in queried.sorted() {
            #expect(served.contains(name), "the dashboard queries \(name), which /metrics does not serve; served: \(served.sorted())")
        }
    }
}
