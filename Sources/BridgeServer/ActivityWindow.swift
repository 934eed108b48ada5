// SPDX-License-Identifier: Apache-2.0
/// The last minute of one alias's or one backend's traffic, a bucket per second in a ring: memory
/// stays the same however many requests pass (60 buckets of a few counters and a `LatencyHistogram`).
///
/// Time is given in whole seconds of a monotonic clock; a bucket older than the window is reused.
/// Pure: unit-tested with made-up seconds.
struct ActivityWindow: Sendable {
    /// Seconds covered.
    static let seconds = 60
    /// Complete seconds averaged for tokens per second (the current second is still filling).
    static let rateSeconds = 10

    struct Bucket: Sendable {
        /// The second it counts; `Int64.min` when never used.
        var second = Int64.min
        var finished = 0
        var errors = 0
        var outputTokens = 0
        var timeToFirstToken = LatencyHistogram()
    }

    private var buckets = [Bucket](repeating: Bucket(), count: seconds)
    /// The latest second anything was recorded in.
    private(set) var lastActive = Int64.min

    /// The bucket of `second`, emptied first when it still holds an older second.
    private mutating func withBucket(_ second: Int64, _ change: (inout Bucket) -> Void) {
        let index = Int(((second % Int64(Self.seconds)) + Int64(Self.seconds)) % Int64(Self.seconds))
        if buckets[index].second != second {
            // A late event for a second already reused (or long gone) is dropped, not counted as now.
            guard buckets[index].second < second else { return }
            buckets[index] = Bucket(second: second)
        }
        change(&buckets[index])
        lastActive = max(lastActive, second)
    }

    /// `count` answer tokens sent in `second`.
    mutating func recordOutputTokens(_ count: Int, at second: Int64) {
        guard count > 0 else { return }
        withBucket(second) { $0.outputTokens = min($0.outputTokens, Int.max - count) + count }
    }

    /// A request that finished in `second`, with its time to first token if it had one.
    mutating func recordFinished(at second: Int64, timeToFirstTokenMs: Double?, failed: Bool) {
        withBucket(second) { bucket in
            bucket.finished += 1
            if failed { bucket.errors += 1 }
            if let timeToFirstTokenMs { bucket.timeToFirstToken.record(milliseconds: timeToFirstTokenMs) }
        }
    }

    /// What the window says at `now`: the `seconds` up to and including `now`.
    func summary(now: Int64, sparklinePoints: Int) -> Summary {
        let oldest = now - Int64(Self.seconds) + 1
        let points = max(1, min(sparklinePoints, Self.seconds))
        let step = Int64(Self.seconds / points)
        var summary = Summary()
        var perPoint = [LatencyHistogram](repeating: LatencyHistogram(), count: points)
        var all = LatencyHistogram()
        for bucket in buckets where bucket.second >= oldest && bucket.second <= now {
            summary.finished += bucket.finished
            summary.errors += bucket.errors
            if bucket.second < now && bucket.second >= now - Int64(Self.rateSeconds) {
                summary.recentOutputTokens += bucket.outputTokens
            }
            all.merge(bucket.timeToFirstToken)
            let point = Int((bucket.second - oldest) / step)
            if point < points { perPoint[point].merge(bucket.timeToFirstToken) }
        }
        summary.outputTokensPerSecond = Double(summary.recentOutputTokens) / Double(Self.rateSeconds)
        summary.ttftP50Ms = all.quantile(0.5)
        summary.ttftP99Ms = all.quantile(0.99)
        summary.ttftSparklineMs = perPoint.map { $0.quantile(0.5) }
        summary.sparklineStepSeconds = Int(step)
        return summary
    }

    /// True when nothing was recorded in the window ending at `now`.
    func isIdle(now: Int64) -> Bool {
        lastActive <= now - Int64(Self.seconds)
    }

    /// The window's figures.
    struct Summary: Sendable, Equatable {
        var finished = 0
        var errors = 0
        var recentOutputTokens = 0
        var outputTokensPerSecond = 0.0
        var ttftP50Ms: Double?
        var ttftP99Ms: Double?
        var ttftSparklineMs: [Double?] = []
        var sparklineStepSeconds = 1
    }
}
