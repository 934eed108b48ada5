// SPDX-License-Identifier: Apache-2.0
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
        recordLimit: Int = 1_000
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
    }
}
