// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import LoadGenerator
import NIOCore
import NIOPosix

/// `make bench`: the same vllm-sim reached three ways (directly over its OpenAI API, through
/// spark-bridge, through the LiteLLM proxy), measured in one run, written to BENCHMARKS.md.
@main
struct SparkBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spark-bench",
        abstract: "Measure spark-bridge against vLLM directly and against LiteLLM; write BENCHMARKS.md."
    )

    @Option(help: "Directory with release builds of spark-bridge and vllm-sim (default: next to spark-bench).")
    var binDir: String?

    @Option(help: "The LiteLLM config both proxies load (model_list, master_key).")
    var config = "Benchmarks/litellm_config.yaml"

    @Option(help: "The litellm executable (scripts/litellm-venv.sh prints it), started through scripts/litellm-run.sh; without it LiteLLM is not measured.")
    var litellm: String?

    @Option(help: "Markdown of core-bench's microbenchmarks, embedded in the report.")
    var coreReport: String?

    @Option(help: "Where the report goes.")
    var output = "BENCHMARKS.md"

    @Option(help: "Event loop threads of the load generator.")
    var clientThreads = 1

    @Flag(help: "Short runs at small loads: checks the harness works, measures nothing worth reporting.")
    var quick = false

    @Option(help: ArgumentHelp(
        "Run only these scenarios (repeatable): small-timed (1a), streams (2), routing (6: least-busy, round-robin and session affinity over 4 replicas), wakeup (what a thread hand-off costs, back to back and after 20 ms idle); prints their figures and writes no report.",
        valueName: "name"))
    var scenario: [BenchScenario] = []

    @Option(help: "With --scenario: the concurrency levels of small-timed (comma-separated, e.g. 1).")
    var smallConcurrency: String?

    @Option(help: "With --scenario: the stream counts of streams (comma-separated, e.g. 256,1024).")
    var streamConcurrency: String?

    @Option(help: "With --scenario routing: sessions (at their last turn) each replica's prefix cache holds (default: sessions ÷ replicas).")
    var routingCacheSessions: Int?

    @Option(help: "With --scenario routing: the bridge's routing.affinity_load_factor (default: the bridge's own).")
    var routingLoadFactor: Double?

    mutating func run() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let binaries = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        var plan = quick ? BenchPlan.quick : BenchPlan.full
        if !scenario.isEmpty {
            if let levels = try Self.levels(smallConcurrency) { plan.smallConcurrency = levels }
            if let levels = try Self.levels(streamConcurrency) { plan.streamConcurrency = levels }
            if scenario.contains(.wakeup) { print(WakeupCost.measure().summary) }
            let served = Set(scenario).subtracting([.wakeup, .routing])
            if scenario.contains(.routing) {
                plan.routing.cacheSessions = routingCacheSessions
                plan.routing.affinityLoadFactor = routingLoadFactor
                let group = MultiThreadedEventLoopGroup(numberOfThreads: clientThreads)
                let bench = try Bench(
                    binDirectory: binaries, configPath: config, litellmExecutable: nil, plan: plan,
                    generator: LoadGenerator(group: group)
                )
                var report = BenchReport()
                report.plan = plan
                report.routing = try await bench.runRouting()
                print(report.routingMarkdown())
                print(report.summary())
                try await group.shutdownGracefully()
            }
            guard !served.isEmpty else { return }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: clientThreads)
            let bench = try Bench(
                binDirectory: binaries, configPath: config, litellmExecutable: nil, plan: plan,
                generator: LoadGenerator(group: group)
            )
            defer { bench.stopAll() }
            print(try await bench.runOnly(served))
            try await group.shutdownGracefully()
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: clientThreads)
        let bench = try Bench(
            binDirectory: binaries, configPath: config, litellmExecutable: litellm, plan: plan,
            generator: LoadGenerator(group: group)
        )
        defer { bench.stopAll() }
        let report = try await bench.runAll()
        var markdown = report.markdown()
        if let coreReport, let core = try? String(contentsOfFile: coreReport, encoding: .utf8) {
            markdown += "\n" + core
        }
        try markdown.write(toFile: output, atomically: true, encoding: .utf8)
        print(report.summary())
        print("spark-bench: wrote \(output)")
        try await group.shutdownGracefully()
    }

    /// "1,16" → [1, 16]; nil for nil.
    private static func levels(_ text: String?) throws -> [Int]? {
        guard let text else { return nil }
        let levels = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 > 0 }) else { throw ValidationError("expected positive counts like 256,1024, got \(text)") }
        return levels
    }
}

/// A scenario `--scenario` can run alone.
enum BenchScenario: String, ExpressibleByArgument, CaseIterable, Sendable {
    case smallTimed = "small-timed"
    case streams
    case routing
    case wakeup
}
