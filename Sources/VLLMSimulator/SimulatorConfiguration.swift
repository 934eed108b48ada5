// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// Everything that shapes a simulator instance: where it listens, what it serves and how fast.
public struct SimulatorConfiguration: Sendable {
    /// The address to bind, e.g. `127.0.0.1`.
    public var host: String
    /// The port to bind; `0` picks a free one (read it back from ``SimulatorServer/port``).
    public var port: Int
    /// Served model names; requests naming another model get vLLM's 404. Never empty.
    public var models: [String]
    /// The context window reported by `/v1/models` and `/tokenize` and enforced on requests.
    public var maxModelLen: Int
    /// Which reasoning field the responses carry.
    public var reasoningField: ReasoningFieldMode
    /// Which error body shape the responses use.
    public var errorFormat: ErrorFormat
    /// Generation speed in tokens per second; `0` sends everything as fast as possible.
    public var tokensPerSecond: Double
    /// Time to first token, in milliseconds.
    public var ttftMilliseconds: Int
    /// Extra delay on the first completion request only (like CUDA graph capture), in milliseconds.
    public var coldStartMilliseconds: Int
    /// Whether `GET /health` starts out answering 200 (`false`: 503 until `POST /sim/health`).
    public var startHealthy: Bool
    /// How many requests `GET /sim/requests` keeps (bodies included); the oldest are forgotten first.
    public var recordLimit: Int
    /// Size of the simulated prefix cache in tokens (``PrefixCache``); `0` caches nothing.
    public var kvCacheTokens: Int
    /// Prefill speed: time to first token grows by the prompt tokens not found in the prefix cache ÷
    /// this; `0` adds nothing (the time to first token is then `ttftMilliseconds` alone).
    public var prefillTokensPerSecond: Double
    /// vLLM's `--enable-prompt-tokens-details`: usage carries `prompt_tokens_details.cached_tokens`
    /// when the prefix cache served any tokens (a directive's `cached_tokens` is reported either way).
    public var enablePromptTokensDetails: Bool
    /// vLLM's `--max-num-seqs`: completions beyond it wait (`vllm:num_requests_waiting`); `0` = no limit.
    public var maxNumSeqs: Int
    /// The metric names `GET /metrics` uses.
    public var metricNames: MetricNames
    /// Test only (no vLLM flag): completion requests are answered with this HTTP status and vLLM's
    /// error body instead of a completion — a backend that is overloaded (429, 503) or failing (5xx).
    public var failStatus: Int?
    /// How many completion requests `failStatus` answers, from the first; `0` = every one.
    public var failCount: Int

    /// The model vLLM serves in spark-bridge's reference deployment.
    public static let defaultModel = "Qwen/Qwen3-Coder-30B-A3B-Instruct"

    /// A configuration; every parameter has the `vllm-sim` command line default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        models: [String] = [SimulatorConfiguration.defaultModel],
        maxModelLen: Int = 32768,
        reasoningField: ReasoningFieldMode = .reasoning,
        errorFormat: ErrorFormat = .new,
        tokensPerSecond: Double = 0,
        ttftMilliseconds: Int = 0,
        coldStartMilliseconds: Int = 0,
        startHealthy: Bool = true,
        recordLimit: Int = 1_000,
        kvCacheTokens: Int = 0,
        prefillTokensPerSecond: Double = 0,
        enablePromptTokensDetails: Bool = false,
        maxNumSeqs: Int = 0,
        metricNames: MetricNames = .current,
        failStatus: Int? = nil,
        failCount: Int = 0
    ) {
        self.host = host
        self.port = port
        self.models = models.isEmpty ? [SimulatorConfiguration.defaultModel] : models
        self.maxModelLen = maxModelLen
        self.reasoningField = reasoningField
        self.errorFormat = errorFormat
        self.tokensPerSecond = tokensPerSecond
        self.ttftMilliseconds = ttftMilliseconds
        self.coldStartMilliseconds = coldStartMilliseconds
        self.startHealthy = startHealthy
        self.recordLimit = max(1, recordLimit)
        self.kvCacheTokens = max(0, kvCacheTokens)
        self.prefillTokensPerSecond = prefillTokensPerSecond.isFinite ? max(0, prefillTokensPerSecond) : 0
        self.enablePromptTokensDetails = enablePromptTokensDetails
        self.maxNumSeqs = max(0, maxNumSeqs)
        self.metricNames = metricNames
        self.failStatus = failStatus
        self.failCount = max(0, failCount)
    }

    /// The time prefill adds to the first token for `uncachedTokens` prompt tokens: `uncachedTokens ÷
    /// prefillTokensPerSecond`, at most a day; zero when no prefill speed is set.
    public func prefillDelay(uncachedTokens: Int) -> TimeAmount {
        guard prefillTokensPerSecond > 0, uncachedTokens > 0 else { return .zero }
        let nanoseconds = min(Double(uncachedTokens) / prefillTokensPerSecond * 1e9, Self.maximumPrefillNanoseconds)
        return .nanoseconds(Int64(nanoseconds))
    }

    /// The longest prefill delay: a day.
    static let maximumPrefillNanoseconds = 86_400.0 * 1e9
}
