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

    mutating func run() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let binaries = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let plan = quick ? BenchPlan.quick : BenchPlan.full
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
}
