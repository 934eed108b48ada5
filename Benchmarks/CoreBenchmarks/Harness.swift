// SPDX-License-Identifier: Apache-2.0
import Dispatch

/// One benchmarked operation: `run` does `unitsPerRun` units of work (one request, or every chunk of
/// a stream), and results are reported per unit.
struct Benchmark {
    var name: String
    /// What one unit is (`request`, `chunk`, `response`).
    var unit: String
    var unitsPerRun: Int
    var run: () -> Void
}

/// A benchmark and the baseline it is compared with, measured in alternating rounds in one process.
struct Comparison {
    var benchmark: Benchmark
    var baseline: Benchmark
}

/// The numbers of one benchmark.
struct Result {
    var name: String
    var unit: String
    /// Units measured over all timed rounds.
    var iterations: Int
    var rounds: Int
    var medianNanoseconds: Double
    var minimumNanoseconds: Double
    var mallocsPerUnit: Double
    var bytesPerUnit: Double
    /// The baseline's name; `nil` for a baseline.
    var baseline: String?
    /// Median over rounds of (this round's time / the baseline's adjacent round's time); 1 for a baseline.
    var ratio: Double
}

/// How long and how often to measure.
struct Plan {
    /// Timed rounds per benchmark.
    var rounds: Int
    /// Wall time one round aims at.
    var roundNanoseconds: Double
    /// Warm-up time per benchmark before calibration.
    var warmupNanoseconds: Double
    /// Runs counted for allocations.
    var countedRuns: Int

    static let full = Plan(rounds: 31, roundNanoseconds: 60e6, warmupNanoseconds: 150e6, countedRuns: 5)
    static let quick = Plan(rounds: 3, roundNanoseconds: 2e6, warmupNanoseconds: 1e6, countedRuns: 1)
}

enum Harness {
    /// Monotonic nanoseconds.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Nanoseconds for `runs` runs of `benchmark`.
    static func time(_ benchmark: Benchmark, runs: Int) -> Double {
        let start = now()
        for _ in 0..<runs { benchmark.run() }
        return Double(now() - start)
    }

    /// Runs `benchmark` for about `nanoseconds` (at least twice); returns the time of one run.
    static func warmUp(_ benchmark: Benchmark, nanoseconds: Double) -> Double {
        var runs = 0
        let start = now()
        repeat {
            benchmark.run()
            runs += 1
        } while runs < 2 || Double(now() - start) < nanoseconds
        return Double(now() - start) / Double(runs)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Measures a benchmark and its baseline: warm-up, then `plan.rounds` rounds alternating baseline and
    /// benchmark (so drift and noise hit both alike), then a separate run with allocation counting on.
    static func measure(_ comparison: Comparison, plan: Plan) -> (benchmark: Result, baseline: Result) {
        let subjects = [comparison.baseline, comparison.benchmark]
        let runsPerRound = subjects.map { subject in
            let perRun = warmUp(subject, nanoseconds: plan.warmupNanoseconds)
            return max(1, Int(plan.roundNanoseconds / max(perRun, 1)))
        }
        var perUnit: [[Double]] = [[], []]
        for round in 0..<plan.rounds {
            // Alternate which goes first, so neither always runs on a warmer cache.
            for position in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                let runs = runsPerRound[position]
                perUnit[position].append(time(subjects[position], runs: runs) / Double(runs * subjects[position].unitsPerRun))
            }
        }
        let ratios = zip(perUnit[1], perUnit[0]).map { $0 / $1 }
        let results = subjects.indices.map { index in
            let subject = subjects[index]
            let counts = AllocationCounting.count {
                for _ in 0..<plan.countedRuns { subject.run() }
            }
            let units = Double(plan.countedRuns * subject.unitsPerRun)
            return Result(
                name: subject.name,
                unit: subject.unit,
                iterations: plan.rounds * runsPerRound[index] * subject.unitsPerRun,
                rounds: plan.rounds,
                medianNanoseconds: median(perUnit[index]),
                minimumNanoseconds: perUnit[index].min() ?? 0,
                mallocsPerUnit: Double(counts.mallocs) / units,
                bytesPerUnit: Double(counts.bytes) / units,
                baseline: index == 1 ? comparison.baseline.name : nil,
                ratio: index == 1 ? median(ratios) : 1
            )
        }
        return (results[1], results[0])
    }
}
