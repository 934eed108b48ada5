// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// `activity` (`sparkctl top`): live traffic per alias and per backend over the last minute.
public struct ActivityReport: Codable, Sendable, Equatable {
    /// How many seconds the per-minute figures cover (60).
    public var windowSeconds: Int
    /// Seconds per sparkline point (`windowSeconds / points`).
    public var sparklineStepSeconds: Int
    /// Requests being answered now, streams included, over the whole daemon.
    public var requestsInFlight: Int
    /// Of those, the streaming ones.
    public var streamsInFlight: Int
    /// True while the whole daemon is drained.
    public var draining: Bool
    /// One row per configured alias (file order), then `-` for model names no alias matched.
    public var aliases: [ActivityRow]
    /// One row per configured backend, in configuration order.
    public var backends: [ActivityRow]

    /// A report with every field given.
    public init(
        windowSeconds: Int, sparklineStepSeconds: Int, requestsInFlight: Int, streamsInFlight: Int, draining: Bool,
        aliases: [ActivityRow], backends: [ActivityRow]
    ) {
        self.windowSeconds = windowSeconds
        self.sparklineStepSeconds = sparklineStepSeconds
        self.requestsInFlight = requestsInFlight
        self.streamsInFlight = streamsInFlight
        self.draining = draining
        self.aliases = aliases
        self.backends = backends
    }

    enum CodingKeys: String, CodingKey {
        case windowSeconds = "window_seconds"
        case sparklineStepSeconds = "sparkline_step_seconds"
        case requestsInFlight = "requests_in_flight"
        case streamsInFlight = "streams_in_flight"
        case draining, aliases, backends
    }
}

/// One alias's or one backend's traffic. Unknown values are JSON `null`, never left out.
public struct ActivityRow: Codable, Sendable, Equatable {
    /// The alias (`model_name`) or the backend (`host:port`).
    public var name: String
    /// `up`, `down`, `unknown` (not probed yet), `drained`; for an alias, `up` while any of its
    /// backends can take requests, else the state of its backends.
    public var state: String
    /// Requests routed here and not finished.
    public var requestsInFlight: Int
    /// Of those, the ones streaming their answer.
    public var streamsInFlight: Int
    /// vLLM's queue (`vllm:num_requests_waiting`); nil until the daemon reads it.
    public var vllmWaiting: Int?
    /// vLLM's running batch (`vllm:num_requests_running`); nil until the daemon reads it.
    public var vllmRunning: Int?
    /// Output tokens per second over the last 10 complete seconds (streamed deltas as they go, the
    /// rest of each answer's usage when it ends).
    public var outputTokensPerSecond: Double
    /// Requests finished in the window.
    public var requestsPerMinute: Int
    /// Of those, the failed ones: HTTP status 400 or more (499, a client gone, excepted) or a stream
    /// ended by an error event.
    public var errorsPerMinute: Int
    /// Median time to first token over the window, in milliseconds; nil without a sample.
    public var ttftP50Ms: Double?
    /// 99th percentile of the time to first token over the window, in milliseconds.
    public var ttftP99Ms: Double?
    /// Median time to first token per `sparklineStepSeconds`, oldest first, nil where no request
    /// finished; covers the whole window.
    public var ttftSparklineMs: [Double?]
    /// The context window (`max_model_len`) the backend reports; for an alias, the smallest of its backends'.
    public var maxModelLen: Int?

    /// A row with every field given.
    public init(
        name: String, state: String, requestsInFlight: Int = 0, streamsInFlight: Int = 0, vllmWaiting: Int? = nil,
        vllmRunning: Int? = nil, outputTokensPerSecond: Double = 0, requestsPerMinute: Int = 0, errorsPerMinute: Int = 0,
        ttftP50Ms: Double? = nil, ttftP99Ms: Double? = nil, ttftSparklineMs: [Double?] = [], maxModelLen: Int? = nil
    ) {
        self.name = name
        self.state = state
        self.requestsInFlight = requestsInFlight
        self.streamsInFlight = streamsInFlight
        self.vllmWaiting = vllmWaiting
        self.vllmRunning = vllmRunning
        self.outputTokensPerSecond = outputTokensPerSecond
        self.requestsPerMinute = requestsPerMinute
        self.errorsPerMinute = errorsPerMinute
        self.ttftP50Ms = ttftP50Ms
        self.ttftP99Ms = ttftP99Ms
        self.ttftSparklineMs = ttftSparklineMs
        self.maxModelLen = maxModelLen
    }

    enum CodingKeys: String, CodingKey {
        case name, state
        case requestsInFlight = "requests_in_flight"
        case streamsInFlight = "streams_in_flight"
        case vllmWaiting = "vllm_waiting"
        case vllmRunning = "vllm_running"
        case outputTokensPerSecond = "output_tokens_per_second"
        case requestsPerMinute = "requests_per_minute"
        case errorsPerMinute = "errors_per_minute"
        case ttftP50Ms = "ttft_p50_ms"
        case ttftP99Ms = "ttft_p99_ms"
        case ttftSparklineMs = "ttft_sparkline_ms"
        case maxModelLen = "max_model_len"
    }

    /// Encodes every key, `null` for unknown values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(state, forKey: .state)
        try container.encode(requestsInFlight, forKey: .requestsInFlight)
        try container.encode(streamsInFlight, forKey: .streamsInFlight)
        try container.encode(vllmWaiting, forKey: .vllmWaiting)
        try container.encode(vllmRunning, forKey: .vllmRunning)
        try container.encode(outputTokensPerSecond, forKey: .outputTokensPerSecond)
        try container.encode(requestsPerMinute, forKey: .requestsPerMinute)
        try container.encode(errorsPerMinute, forKey: .errorsPerMinute)
        try container.encode(ttftP50Ms, forKey: .ttftP50Ms)
        try container.encode(ttftP99Ms, forKey: .ttftP99Ms)
        try container.encode(ttftSparklineMs, forKey: .ttftSparklineMs)
        try container.encode(maxModelLen, forKey: .maxModelLen)
    }
}
