import ControlProtocol
import FuzzSupport
import Foundation

/// Arbitrary bytes as a backend's `GET /metrics` page, as each health round reads it.
///
/// Never a trap; every figure read is in range (counts ≥ 0, a KV-cache usage and a hit rate in 0...1,
/// counters finite and ≥ 0), and every sample handed out has a name of the asked families and labels
/// within the bounds.
@main
enum FuzzMetrics {
    static func main() { runFuzzer(test) }

    static let models: Set<String> = ["Qwen/Qwen3-Coder-30B-A3B-Instruct", "m"]
    static let families: Set<String> = ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"]

    static let test: FuzzTest = { data, size in
        let page = fuzzBytes(data, size)
        PrometheusText.forEachSample(in: page, named: families) { name, labels, value in
            fuzzCheck(families.contains(name), "a sample of another family: \(name)")
            fuzzCheck(labels.count <= PrometheusText.maximumLabels, "\(labels.count) labels")
            fuzzCheck(labels.allSatisfy { $0.value.utf8.count <= PrometheusText.maximumLabelValueBytes * 3 }, "an overlong label value")
            if let value { fuzzCheck(value.isFinite, "a non-finite value") }
        }
        guard let load = BackendLoad(prometheusPage: page, models: models, readAt: Date(timeIntervalSince1970: 0)) else { return 0 }
        for count in [load.running, load.waiting].compactMap({ $0 }) { fuzzCheck(count >= 0 && count <= Int(Int32.max), "a count of \(count)") }
        if let queued = load.queued { fuzzCheck(queued >= 0, "a queue of \(queued)") }
        if let usage = load.kvCacheUsage { fuzzCheck((0...1).contains(usage), "a KV-cache usage of \(usage)") }
        if let rate = load.prefixCacheHitRate { fuzzCheck((0...1).contains(rate), "a hit rate of \(rate)") }
        for counter in [load.prefixCacheQueries, load.prefixCacheHits].compactMap({ $0 }) {
            fuzzCheck(counter.isFinite && counter >= 0, "a counter of \(counter)")
        }
        return 0
    }
}
