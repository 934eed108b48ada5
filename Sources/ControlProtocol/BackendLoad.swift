// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A backend's own load, read from vLLM's Prometheus page (`GET /metrics`) at the last health round:
/// what the GPU is doing for every client, not only for this bridge.
///
/// Each figure is nil when the page did not carry it or carried nonsense (NaN, infinite, negative,
/// a usage above 1). Encoded with `null` for those, never left out.
public struct BackendLoad: Codable, Sendable, Equatable {
    /// `vllm:num_requests_running`: requests in the engine's running batch.
    public var running: Int?
    /// `vllm:num_requests_waiting`: requests queued for a slot.
    public var waiting: Int?
    /// `vllm:kv_cache_usage_perc` (older vLLM: `vllm:gpu_cache_usage_perc`): the share of KV-cache
    /// blocks in use, 0...1.
    public var kvCacheUsage: Double?
    /// `vllm:prefix_cache_queries_total` (older: `vllm:gpu_prefix_cache_queries_total`): prompt tokens
    /// looked up in the prefix cache since the backend started.
    public var prefixCacheQueries: Double?
    /// `vllm:prefix_cache_hits_total` (older: `vllm:gpu_prefix_cache_hits_total`): of those, tokens found.
    public var prefixCacheHits: Double?
    /// When the page was read.
    public var readAt: Date

    /// Figures read at `readAt`; what is not given is unknown.
    public init(
        running: Int? = nil, waiting: Int? = nil, kvCacheUsage: Double? = nil, prefixCacheQueries: Double? = nil,
        prefixCacheHits: Double? = nil, readAt: Date
    ) {
        self.running = running
        self.waiting = waiting
        self.kvCacheUsage = kvCacheUsage
        self.prefixCacheQueries = prefixCacheQueries
        self.prefixCacheHits = prefixCacheHits
        self.readAt = readAt
    }

    /// Requests the backend holds, running or waiting: what least-busy routing ranks by. Nil when
    /// either is unknown.
    public var queued: Int? {
        guard let running, let waiting else { return nil }
        return running.addingReportingOverflow(waiting).overflow ? nil : running + waiting
    }

    /// Prefix-cache hits ÷ queries since the backend started, 0...1; nil before the first query.
    public var prefixCacheHitRate: Double? {
        guard let hits = prefixCacheHits, let queries = prefixCacheQueries, queries > 0, hits <= queries else { return nil }
        return hits / queries
    }

    enum CodingKeys: String, CodingKey {
        case running, waiting
        case kvCacheUsage = "kv_cache_usage"
        case prefixCacheQueries = "prefix_cache_queries"
        case prefixCacheHits = "prefix_cache_hits"
        case prefixCacheHitRate = "prefix_cache_hit_rate"
        case readAt = "read_at"
    }

    /// Reads the figures; every key but `read_at` may be missing. `prefix_cache_hit_rate` follows from
    /// the counters and is not read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        running = try container.decodeIfPresent(Int.self, forKey: .running)
        waiting = try container.decodeIfPresent(Int.self, forKey: .waiting)
        kvCacheUsage = try container.decodeIfPresent(Double.self, forKey: .kvCacheUsage)
        prefixCacheQueries = try container.decodeIfPresent(Double.self, forKey: .prefixCacheQueries)
        prefixCacheHits = try container.decodeIfPresent(Double.self, forKey: .prefixCacheHits)
        readAt = try container.decode(Date.self, forKey: .readAt)
    }

    /// Encodes every key, `null` for unknown figures.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(running, forKey: .running)
        try container.encode(waiting, forKey: .waiting)
        try container.encode(kvCacheUsage, forKey: .kvCacheUsage)
        try container.encode(prefixCacheQueries, forKey: .prefixCacheQueries)
        try container.encode(prefixCacheHits, forKey: .prefixCacheHits)
        try container.encode(prefixCacheHitRate, forKey: .prefixCacheHitRate)
        try container.encode(readAt, forKey: .readAt)
    }
}

extension BackendLoad {
    /// The load on vLLM's Prometheus `page` for the models called `models` (the `model_name` label; a
    /// sample without that label counts too), summed over label sets (data-parallel engines); the KV-cache
    /// usage is their mean. Reads both the current and the older (`gpu_`) names. Nil when the page holds
    /// none of the figures: not vLLM's page.
    public init?(prometheusPage page: some Collection<UInt8>, models: Set<String>, readAt: Date) {
        // Per name, so a page that carries a family under both names (a release in between) counts it once.
        var sums: [String: (total: Double, count: Int, valid: Bool)] = [:]
        PrometheusText.forEachSample(in: page, named: Figure.names) { name, labels, value in
            if let model = labels.first(where: { $0.name == "model_name" })?.value, !models.contains(model) { return }
            var sum = sums[name] ?? (0, 0, true)
            if let value, value >= 0 { sum.total += value } else { sum.valid = false }
            sum.count += 1
            sums[name] = sum
        }
        guard !sums.isEmpty else { return nil }
        func sum(_ figure: Figure) -> (total: Double, count: Int, valid: Bool)? {
            figure.names.lazy.compactMap { sums[$0] }.first
        }
        func total(_ figure: Figure) -> Double? {
            guard let sum = sum(figure), sum.valid, sum.total.isFinite else { return nil }
            return sum.total
        }
        func count(_ figure: Figure) -> Int? {
            guard let value = total(figure), value <= Double(Int32.max) else { return nil }
            return Int(value.rounded())
        }
        let usage = total(.kvCacheUsage).flatMap { total in sum(.kvCacheUsage).map { total / Double($0.count) } }
        self.init(
            running: count(.running), waiting: count(.waiting), kvCacheUsage: usage.flatMap { $0 <= 1 ? $0 : nil },
            prefixCacheQueries: total(.prefixCacheQueries), prefixCacheHits: total(.prefixCacheHits), readAt: readAt
        )
    }

    /// The families read, by every name vLLM has given them.
    private enum Figure: CaseIterable {
        case running, waiting, kvCacheUsage, prefixCacheQueries, prefixCacheHits

        /// The current name first, then the older one (vLLM 0.8–0.9).
        var names: [String] {
            switch self {
            case .running: ["vllm:num_requests_running"]
            case .waiting: ["vllm:num_requests_waiting"]
            case .kvCacheUsage: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]
            case .prefixCacheQueries: ["vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"]
            case .prefixCacheHits: ["vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"]
            }
        }

        static let names = Set(allCases.flatMap(\.names))
    }
}
