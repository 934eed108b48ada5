// SPDX-License-Identifier: Apache-2.0
/// Counts of latencies in fixed, roughly logarithmic bins: a bounded summary from which percentiles
/// are estimated (within a bin, by linear interpolation), as Prometheus' `histogram_quantile` does.
struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds of the bins, in milliseconds; a last bin holds everything slower.
    static let upperBoundsMs: [Double] = [
        10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500,
        10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000,
    ]

    private(set) var counts = [UInt32](repeating: 0, count: upperBoundsMs.count + 1)

    /// Samples counted.
    var total: Int { counts.reduce(0) { $0 + Int($1) } }

    /// Counts one sample; negative values count as 0.
    mutating func record(milliseconds: Double) {
        let index = Self.upperBoundsMs.firstIndex { milliseconds <= $0 } ?? Self.upperBoundsMs.count
        // A bin holding 4 billion samples in one second is not reachable; saturate rather than trap.
        counts[index] = counts[index] == .max ? .max : counts[index] + 1
    }

    /// Adds another histogram's counts.
    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices {
            counts[index] = UInt32(clamping: UInt64(counts[index]) + UInt64(other.counts[index]))
        }
    }

    /// The estimated `quantile` (0…1) in milliseconds, or nil without samples. A sample past the last
    /// bound is reported as that bound.
    func quantile(_ quantile: Double) -> Double? {
        let total = self.total
        guard total > 0 else { return nil }
        let rank = min(max(quantile, 0), 1) * Double(total)
        var seen = 0.0
        for (index, count) in counts.enumerated() where count > 0 {
            let next = seen + Double(count)
            if rank <= next || index == counts.count - 1 {
                guard index < Self.upperBoundsMs.count else { return Self.upperBoundsMs.last }
                let lower = index == 0 ? 0 : Self.upperBoundsMs[index - 1]
                let upper = Self.upperBoundsMs[index]
                return lower + (upper - lower) * ((rank - seen) / Double(count))
            }
            seen = next
        }
        return Self.upperBoundsMs.last
    }
}
