// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// What a benchmark run does: loads, durations and the simulated backend's timing.
struct BenchPlan: Sendable {
    /// Scenario 1: concurrency levels of small non-streaming requests.
    var smallConcurrency: [Int]
    var smallWarmup: TimeAmount
    var smallDuration: TimeAmount
    /// Words (= tokens) in a small answer, and the backend's time to first token for it: a small
    /// prompt's prefill on a GPU, so the backend is not an instant echo and the proxies are measured
    /// at the request rates a real deployment sees, not at the rate three processes can share 2 cores.
    var smallWords: Int
    var smallTTFTMilliseconds: Int
    /// Scenario 2: concurrent streams, answer length and pace.
    var streamConcurrency: [Int]
    var streamDuration: TimeAmount
    var streamTokens: Int
    var streamTokensPerSecond: Int
    var streamTTFTMilliseconds: Int
    /// Scenario 3: sequential Claude Code-size requests for this long per path.
    var claudeCodeDuration: TimeAmount
    /// Scenario 4: fresh spark-bridge processes started to READY.
    var bridgeStarts: Int
    /// Repeated rounds after the scenarios, to see whether the bridge's memory grows.
    var growthRounds: Int
    var growthStreams: Int
    /// Scenario 6: replicas, sessions and turns of the routing comparison.
    var routing: RoutingPlan
    /// Section 1c: thread hand-offs timed back to back, and after the small requests' backend wait.
    var wakeupRoundTrips = 20_000
    var wakeupIdleSamples = 200

    static let full = BenchPlan(
        smallConcurrency: [1, 16, 64, 256], smallWarmup: .milliseconds(500), smallDuration: .seconds(4),
        smallWords: 12, smallTTFTMilliseconds: 20,
        streamConcurrency: [1, 64, 256, 1024], streamDuration: .seconds(3),
        streamTokens: 256, streamTokensPerSecond: 100, streamTTFTMilliseconds: 20,
        claudeCodeDuration: .seconds(5), bridgeStarts: 7, growthRounds: 3, growthStreams: 1024,
        routing: .full
    )

    static let quick = BenchPlan(
        smallConcurrency: [1, 8], smallWarmup: .milliseconds(100), smallDuration: .milliseconds(400),
        smallWords: 12, smallTTFTMilliseconds: 5,
        streamConcurrency: [1, 16], streamDuration: .milliseconds(300),
        streamTokens: 32, streamTokensPerSecond: 400, streamTTFTMilliseconds: 5,
        claudeCodeDuration: .milliseconds(500), bridgeStarts: 2, growthRounds: 1, growthStreams: 16,
        routing: .quick, wakeupRoundTrips: 500, wakeupIdleSamples: 20
    )
}
