// SPDX-License-Identifier: Apache-2.0
import LoadGenerator

/// One run of one path at one load, with what its proxy used meanwhile.
struct Measurement: Sendable {
    let path: PathKind
    let result: LoadResult
    /// The proxy's process tree (spark-bridge or LiteLLM); for the direct path, the simulator.
    let proxy: ResourceUse?
}

/// The runs of the three paths at one load of one scenario, side by side.
struct LoadLevel: Sendable {
    /// The load, e.g. "64" (concurrency) or "1024 streams".
    let label: String
    let concurrency: Int
    var measurements: [PathKind: Measurement] = [:]
}

/// How long start to ready took, per start.
struct StartupTimes: Sendable {
    let what: String
    let signal: String
    var milliseconds: [Double]
}
