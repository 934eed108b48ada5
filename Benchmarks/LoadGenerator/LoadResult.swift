// SPDX-License-Identifier: Apache-2.0
/// Latency percentiles of a set of samples, in nanoseconds (nearest rank).
public struct Percentiles: Sendable {
    /// How many values they were computed from.
    public let count: Int
    public let p50: Int64
    public let p90: Int64
    public let p99: Int64
    public let max: Int64

    /// The percentiles of `values`; all zero when there are none.
    public init(_ values: [Int64]) {
        let sorted = values.sorted()
        count = sorted.count
        func rank(_ fraction: Double) -> Int64 {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        p50 = rank(0.50)
        p90 = rank(0.90)
        p99 = rank(0.99)
        self.max = sorted.last ?? 0
    }
}

/// Everything one run recorded, and the figures a report derives from it.
public struct LoadResult: Sendable {
    /// Every recorded request, in start order.
    public let samples: [RequestSample]
    /// The run's virtual users.
    public let concurrency: Int
    /// The recording window: requests started within it.
    public let windowNanos: Int64
    /// From the window's start to the last answer's end (longer than the window when answers were awaited).
    public let elapsedNanos: Int64
    /// CPU seconds the load generator's process used during the run.
    public let generatorCPUSeconds: Double

    /// Requests that completed as a good answer does.
    public var completed: Int { samples.count { $0.completed } }
    /// Requests that did not.
    public var failed: Int { samples.count - completed }
    /// Statuses other than 200 and how often each came (`0`: no response).
    public var failureStatuses: [Int: Int] {
        samples.filter { !$0.completed }.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
    }
    /// Completed requests per second of the recording window.
    public var requestsPerSecond: Double {
        windowNanos > 0 ? Double(completed) / (Double(windowNanos) / 1e9) : 0
    }
    /// Token events delivered per second, over the whole elapsed time.
    public var tokenEventsPerSecond: Double {
        elapsedNanos > 0 ? Double(samples.reduce(0) { $0 + $1.tokenEvents }) / (Double(elapsedNanos) / 1e9) : 0
    }
    /// Total time of completed requests.
    public var total: Percentiles { Percentiles(samples.filter(\.completed).map(\.totalNanos)) }
    /// Time to first byte of completed requests.
    public var firstByte: Percentiles { Percentiles(samples.filter(\.completed).compactMap(\.firstByteNanos)) }
    /// Time to first token event of completed streams.
    public var firstToken: Percentiles { Percentiles(samples.filter(\.completed).compactMap(\.firstTokenNanos)) }
    /// Events per completed stream (min over streams, for the report's "every stream whole" check).
    public var minimumTokenEvents: Int { samples.filter(\.completed).map(\.tokenEvents).min() ?? 0 }
}
