// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation
import Testing

/// Reading vLLM's Prometheus page: real pages, the older names, and what a hostile backend can send.
@Suite("backend load from vLLM's /metrics")
struct BackendLoadParsingTests {
    static let readAt = Date(timeIntervalSince1970: 1_764_000_000)
    static let model = "Qwen/Qwen3-Coder-30B-A3B-Instruct"

    /// vLLM 0.10's page (prometheus_client 0.0.4 text), trimmed to the families around the ones read.
    static let currentPage = #"""
    # HELP python_gc_objects_collected_total Objects collected during gc
    # TYPE python_gc_objects_collected_total counter
    python_gc_objects_collected_total{generation="0"} 12345.0
    # HELP vllm:num_requests_running Number of requests in model execution batches.
    # TYPE vllm:num_requests_running gauge
    vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 3.0
    # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
    # TYPE vllm:num_requests_waiting gauge
    vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 2.0
    # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
    # TYPE vllm:kv_cache_usage_perc gauge
    vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 0.4375
    # HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
    # TYPE vllm:prefix_cache_queries_total counter
    vllm:prefix_cache_queries_total{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 1.2e+06
    # HELP vllm:prefix_cache_queries_created Prefix cache queries, in terms of number of queried tokens.
    # TYPE vllm:prefix_cache_queries_created gauge
    vllm:prefix_cache_queries_created{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 1.7640000012345e+09
    # HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
    # TYPE vllm:prefix_cache_hits_total counter
    vllm:prefix_cache_hits_total{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 900000.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"} 0.0

    """#

    private func read(_ page: String, models: Set<String> = [model]) -> BackendLoad? {
        BackendLoad(prometheusPage: Array(page.utf8), models: models, readAt: Self.readAt)
    }

    @Test("vLLM 0.10's page gives running, waiting, KV-cache usage and the prefix-cache counters")
    func currentNames() throws {
        let load = try #require(read(Self.currentPage))
        #expect(load == BackendLoad(running: 3, waiting: 2, kvCacheUsage: 0.4375, prefixCacheQueries: 1_200_000, prefixCacheHits: 900_000, readAt: Self.readAt))
        #expect(load.queued == 5 && load.prefixCacheHitRate == 0.75)
    }

    @Test("vLLM 0.8–0.9's gpu_ names are read too, and a page with both names counts each family once")
    func legacyNames() throws {
        let legacy = Self.currentPage.replacing("vllm:kv_cache", with: "vllm:gpu_cache").replacing("vllm:prefix_cache", with: "vllm:gpu_prefix_cache")
        #expect(read(legacy) == read(Self.currentPage))
        let both = Self.currentPage + legacy.split(separator: "\n").filter { $0.contains("gpu_") }.joined(separator: "\n") + "\n"
        #expect(read(both) == read(Self.currentPage))
    }

    @Test("label sets of the served models are summed (data-parallel engines); other models' are not; KV usage is their mean")
    func sumsOverLabelSets() throws {
        let page = """
        vllm:num_requests_running{engine="0",model_name="m"} 2
        vllm:num_requests_running{engine="1",model_name="m"} 3
        vllm:num_requests_running{engine="0",model_name="other"} 40
        vllm:num_requests_waiting 1
        vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5
        vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.25

        """
        let load = try #require(read(page, models: ["m"]))
        #expect(load.running == 5 && load.waiting == 1 && load.kvCacheUsage == 0.375)
        #expect(load.prefixCacheHits == nil && load.prefixCacheHitRate == nil)
    }

    @Test("label values are unescaped before they are compared")
    func escapedLabels() throws {
        let page = #"vllm:num_requests_waiting{model_name="a\"b\\c\nd"} 7"# + "\n"
        #expect(read(page, models: ["a\"b\\c\nd"])?.waiting == 7)
        #expect(read(page, models: ["a\"b\\c\\nd"]) == nil)
    }

    @Test("NaN, infinities, negatives and a usage above 1 make that figure unknown, not the others")
    func nonsenseValues() throws {
        for bad in ["NaN", "+Inf", "-Inf", "-1", "0x10", "1e400", "nope"] {
            let page = "vllm:num_requests_waiting{model_name=\"m\"} \(bad)\nvllm:num_requests_running{model_name=\"m\"} 1\nvllm:kv_cache_usage_perc 1.5\n"
            let load = try #require(read(page, models: ["m"]), "value \(bad)")
            #expect(load.waiting == nil && load.running == 1 && load.kvCacheUsage == nil && load.queued == nil)
        }
        let huge = "vllm:num_requests_waiting 1e15\n"
        #expect(read(huge, models: [])?.waiting == nil)
    }

    @Test("a page without vLLM's figures, garbage, or a 404 body is no load at all")
    func notVLLM() {
        #expect(read("") == nil)
        #expect(read("<html><body>404 Not Found</body></html>\n") == nil)
        #expect(read("# TYPE vllm:num_requests_waiting gauge\n{model_name=\"m\"} 3\nvllm:num_requests_waiting{model_name=\"m\" 3\nvllm:num_requests_waiting{=\"m\"} 3\n") == nil)
        #expect(read(String(repeating: "\u{0}\u{FF}{}\"=\\", count: 1000)) == nil)
    }

    @Test("bounds: a line past the line limit, a cut last line, and bytes past the page limit are not read")
    func bounds() {
        let longLabel = String(repeating: "x", count: PrometheusText.maximumLineBytes)
        #expect(read("vllm:num_requests_waiting{model_name=\"m\",pad=\"\(longLabel)\"} 3\n", models: ["m"]) == nil)
        let longValue = String(repeating: "y", count: PrometheusText.maximumLabelValueBytes + 1)
        #expect(read("vllm:num_requests_waiting{pad=\"\(longValue)\"} 3\n", models: []) == nil)
        let manyLabels = (0...PrometheusText.maximumLabels).map { "l\($0)=\"v\"" }.joined(separator: ",")
        #expect(read("vllm:num_requests_waiting{\(manyLabels)} 3\n", models: []) == nil)
        #expect(read("vllm:num_requests_waiting 3", models: []) == nil)
        let padding = String(repeating: "# filler line of a hostile page\n", count: PrometheusText.maximumBytes / 32 + 1)
        #expect(read(padding + "vllm:num_requests_waiting 3\n", models: []) == nil)
        #expect(read("vllm:num_requests_waiting 3\n" + padding, models: [])?.waiting == 3)
        let lines = String(repeating: "\n", count: PrometheusText.maximumLines)
        #expect(read(lines + "vllm:num_requests_waiting 3\n", models: []) == nil)
    }

    @Test("a sample's timestamp after the value is allowed")
    func timestamp() {
        #expect(read("vllm:num_requests_running{model_name=\"m\"} 4 1764000000000\n", models: ["m"])?.running == 4)
    }
}
