// SPDX-License-Identifier: Apache-2.0

/// Which names `GET /metrics` uses for the cache gauges, i.e. which vLLM release to imitate.
public enum MetricNames: String, Sendable, CaseIterable {
    /// `vllm:kv_cache_usage_perc`, `vllm:prefix_cache_queries`, `vllm:prefix_cache_hits`: vLLM 0.10 and later.
    case current
    /// `vllm:gpu_cache_usage_perc`, `vllm:gpu_prefix_cache_queries`, `vllm:gpu_prefix_cache_hits`: the
    /// V1 engine before the rename (vLLM 0.8–0.9).
    case legacy
}

/// The engine's gauges and counters at one moment.
struct EngineMetrics: Sendable, Equatable {
    var running: Int
    var waiting: Int
    /// 0...1.
    var kvCacheUsage: Double
    var prefixCacheQueries: Int
    var prefixCacheHits: Int
}

/// `GET /metrics` as vLLM serves it: `prometheus_client`'s text format 0.0.4, labels
/// `engine="0"` and `model_name` (the first served name), counters with their `_created` gauge.
///
/// Only the scheduler and prefix-cache families are served (vLLM also has histograms, token counters
/// and the Python process collectors).
enum MetricsPage {
    /// The `content-type` of `prometheus_client`'s `CONTENT_TYPE_LATEST` (text format 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The page for `metrics`; `createdAt` (seconds since 1970) is what each counter's `_created` shows.
    static func body(_ metrics: EngineMetrics, modelName: String, createdAt: Double, names: MetricNames) -> [UInt8] {
        let labels = #"{engine="0",model_name="\#(escapeLabel(modelName))"}"#
        var out = ""
        func gauge(_ name: String, _ help: String, _ value: Double) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name)\(labels) \(goFloat(value))\n"
        }
        func counter(_ name: String, _ help: String, _ value: Int) {
            out += "# HELP \(name)_total \(help)\n# TYPE \(name)_total counter\n\(name)_total\(labels) \(goFloat(Double(value)))\n"
            gauge("\(name)_created", help, createdAt)
        }
        gauge("vllm:num_requests_running", "Number of requests in model execution batches.", Double(metrics.running))
        gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", Double(metrics.waiting))
        switch names {
        case .current:
            gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", metrics.kvCacheUsage)
            counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", metrics.prefixCacheQueries)
            counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", metrics.prefixCacheHits)
        case .legacy:
            gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", metrics.kvCacheUsage)
            counter("vllm:gpu_prefix_cache_queries", "GPU prefix cache queries, in terms of number of queried tokens.", metrics.prefixCacheQueries)
            counter("vllm:gpu_prefix_cache_hits", "GPU prefix cache hits, in terms of number of cached tokens.", metrics.prefixCacheHits)
        }
        return Array(out.utf8)
    }

    /// A label value escaped as `prometheus_client` does: `\`, newline and `"`.
    static func escapeLabel(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\n", with: "\\n").replacing("\"", with: "\\\"")
    }

    /// A sample value as `prometheus_client`'s `floatToGoString` writes it: Python's `repr`, switched
    /// to an exponent once there are more than 6 digits before the point (`1.7869106011177013e+09`).
    static func goFloat(_ value: Double) -> String {
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value.isNaN { return "NaN" }
        let text = value.description
        guard value > 0, let dot = text.firstIndex(of: "."), text.distance(from: text.startIndex, to: dot) > 6 else {
            return text
        }
        let digitsBeforeDot = text.distance(from: text.startIndex, to: dot)
        var mantissa = String(text.first!) + "." + text[text.index(after: text.startIndex)..<dot] + text[text.index(after: dot)...]
        while let last = mantissa.last, last == "0" || last == "." { mantissa.removeLast() }
        return "\(mantissa)e+0\(digitsBeforeDot - 1)"
    }
}
