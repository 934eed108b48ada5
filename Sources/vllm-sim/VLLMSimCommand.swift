// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Dispatch
import Foundation
import VLLMSimulator

/// `vllm-sim`: a vLLM OpenAI-server simulator for integration tests and benchmarks.
@main
struct VLLMSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm-sim",
        abstract: "Simulates vLLM's OpenAI-compatible server (Qwen3 + qwen3_coder parsers) without a GPU."
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks a free one.") var port = 0
    @Option(name: .customLong("model"), help: "Served model name (repeatable).") var models: [String] = []
    @Option(help: "Context window, reported and enforced.") var maxModelLen = 32768
    @Option(help: "reasoning | reasoning_content | both") var reasoningField: ReasoningFieldMode = .reasoning
    @Option(help: "new ({\"error\":{…}}) | old (flat object)") var errorFormat: ErrorFormat = .new
    @Option(help: "Generation speed; 0 = as fast as possible.") var tokensPerSecond: Double = 0
    @Option(name: .customLong("ttft-ms"), help: "Time to first token, ms.") var ttftMilliseconds = 0
    @Option(name: .customLong("cold-start-ms"), help: "Extra delay on the first completion only, ms.") var coldStartMilliseconds = 0
    @Option(help: "How many requests GET /sim/requests keeps.") var recordLimit = 1_000
    @Flag(help: "Start with GET /health answering 503.") var unhealthy = false
    @Option(help: "Prefix cache size in tokens (blocks of 16, LRU); 0 = no prefix caching.") var kvCacheTokens = 0
    @Option(help: "Prefill speed: TTFT grows by uncached prompt tokens ÷ this; 0 = no prefill time.")
    var prefillTokensPerSecond: Double = 0
    @Flag(help: "Report usage.prompt_tokens_details.cached_tokens when the prefix cache hit, as vLLM's flag does.")
    var enablePromptTokensDetails = false
    @Option(help: "Completions running at once; more wait (vllm:num_requests_waiting). 0 = no limit.") var maxNumSeqs = 0
    @Option(help: "GET /metrics names: current (vllm:kv_cache_usage_perc, vllm:prefix_cache_*) | legacy (vllm:gpu_cache_usage_perc, vllm:gpu_prefix_cache_*)")
    var metricNames: MetricNames = .current
    @Option(help: "Test only, not a vLLM flag: answer completion requests with this HTTP status (e.g. 503, 429) and vLLM's error body.")
    var failStatus: Int?
    @Option(help: "Test only: how many completion requests --fail-status answers, from the first; 0 = every one.")
    var failCount = 0

    func validate() throws {
        guard kvCacheTokens >= 0 else { throw ValidationError("--kv-cache-tokens must be 0 or more") }
        guard maxNumSeqs >= 0 else { throw ValidationError("--max-num-seqs must be 0 or more") }
        if let failStatus, !(400...599).contains(failStatus) { throw ValidationError("--fail-status must be an HTTP error status, 400 to 599") }
        guard failCount >= 0 else { throw ValidationError("--fail-count must be 0 or more") }
        guard prefillTokensPerSecond.isFinite, prefillTokensPerSecond >= 0 else {
            throw ValidationError("--prefill-tokens-per-second must be a finite number, 0 or more")
        }
    }

    func run() async throws {
        for signalNumber in [SIGINT, SIGTERM] { signal(signalNumber, SIG_IGN) }
        let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { Foundation.exit(0) }
            source.resume()
        }
        let server = try await SimulatorServer.start(configuration: SimulatorConfiguration(
            host: host, port: port, models: models, maxModelLen: maxModelLen,
            reasoningField: reasoningField, errorFormat: errorFormat, tokensPerSecond: tokensPerSecond,
            ttftMilliseconds: ttftMilliseconds, coldStartMilliseconds: coldStartMilliseconds,
            startHealthy: !unhealthy, recordLimit: recordLimit, kvCacheTokens: kvCacheTokens,
            prefillTokensPerSecond: prefillTokensPerSecond, enablePromptTokensDetails: enablePromptTokensDetails,
            maxNumSeqs: maxNumSeqs, metricNames: metricNames, failStatus: failStatus, failCount: failCount
        ))
        FileHandle.standardOutput.write(Data("vllm-sim listening on \(server.baseURL)\n".utf8))
        try await server.waitUntilClosed()
        withExtendedLifetime(sources) {}
    }
}

extension ReasoningFieldMode: ExpressibleByArgument {}
extension ErrorFormat: ExpressibleByArgument {}
extension MetricNames: ExpressibleByArgument {}
