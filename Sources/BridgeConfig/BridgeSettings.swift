// SPDX-License-Identifier: Apache-2.0
/// The bridge's own settings: the `spark_bridge:` section, plus `litellm_settings.drop_params`.
///
/// Every property starts at its documented default, so `BridgeSettings()` is what an empty
/// `spark_bridge:` section loads as.
public struct BridgeSettings: Sendable, Equatable {
    /// `listen`: addresses the HTTP API listens on.
    public var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 4000)]
    /// `control_socket`: the Unix socket `sparkctl` talks to.
    public var controlSocket: String = "/run/spark-bridge/control.sock"
    /// `control_socket_group`: group that may use the control socket (mode 0660); nil keeps the service's group.
    public var controlSocketGroup: String?
    /// `default_model`: the alias serving any model name that matches no `model_name`; nil rejects such requests.
    public var defaultModel: String?
    /// `max_body_bytes`: largest request body accepted (413 beyond it).
    public var maxBodyBytes: Int = 33_554_432
    /// `timeouts`: limits on each upstream request.
    public var timeouts = Timeouts()
    /// `limits`: what client connections may hold, and for how long.
    public var limits = ConnectionLimits()
    /// `drain_deadline_seconds`: how long a drain or stop waits for requests in flight.
    public var drainDeadline: Duration = .seconds(30)
    /// `health`: the backend health monitor.
    public var health = HealthSettings()
    /// `warmup`: keep-alive requests that keep a backend's model hot.
    public var warmup = WarmupSettings()
    /// `routing`: how an alias with several deployments spreads its requests.
    public var routing = RoutingSettings()
    /// LiteLLM's `num_retries`, `fallbacks` and `context_window_fallbacks`.
    public var fallback = FallbackSettings()
    /// `log_level`: the least severe level logged.
    public var logLevel: LogLevel = .info
    /// `retry_on_context_overflow`: when the backend rejects a request as too long for its context,
    /// retry once with `max_tokens` lowered to what fits.
    public var retryOnContextOverflow = true
    /// `keepalive_seconds`: while a stream is open and nothing else has gone out for this long, send an
    /// `event: ping` (prompt processing and queueing can take minutes); nil (written 0) sends none.
    public var keepalive: Duration? = .seconds(10)
    /// `preserve_thinking`: also send `chat_template_kwargs.preserve_thinking: true`, for chat templates
    /// (Qwen3.6) that can keep the reasoning of every earlier assistant turn in the prompt.
    public var preserveThinking = false
    /// `rescue_qwen_xml`: turn `<tool_call>` XML that Qwen models sometimes emit as text into real tool calls.
    public var rescueQwenXML = true
    /// `litellm_settings.drop_params`: drop request parameters the backend does not support instead of failing.
    public var dropParams = false

    /// Every setting at its documented default.
    public init() {}
}

/// `spark_bridge.timeouts`: limits on each upstream request.
public struct Timeouts: Sendable, Equatable {
    /// `connect_seconds`: to establish the TCP connection to the backend.
    public var connect: Duration = .seconds(5)
    /// `first_byte_seconds`: from sending the request to the first response byte (prompt processing included).
    public var firstByte: Duration = .seconds(600)
    /// `idle_seconds`: longest silence between two chunks of a streamed response.
    public var idle: Duration = .seconds(120)
    /// `paused_stream_seconds`: longest a streamed response may wait for a client that reads nothing;
    /// then the client's connection is closed and the backend request cancelled (its slot freed).
    public var pausedStream: Duration = .seconds(120)
    /// `total_seconds`: longest a request to a backend may take from start to end, however steadily
    /// bytes arrive (a backend dripping a byte at a time never trips `idle_seconds`).
    public var total: Duration = .seconds(1800)

    /// Every setting at its documented default.
    public init() {}
}

/// `spark_bridge.limits`: bounds on client connections, so that clients without the key (or broken
/// ones) cannot hold the daemon's file descriptors, memory or time.
public struct ConnectionLimits: Sendable, Equatable {
    /// `max_connections`: client connections served at once. A few more (`spareConnections`) are
    /// accepted only to answer `/health` and to tell the others 503; beyond those, new connections are closed.
    public var maxConnections = 1024
    /// `header_timeout_seconds`: from a connection's opening, or from the first byte of a later request,
    /// to the end of the request's headers. A connection that misses it is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// `body_timeout_seconds`: longest pause while a request body is read (408, then the connection is closed).
    public var bodyTimeout: Duration = .seconds(30)
    /// `keep_alive_timeout_seconds`: a connection waiting for its next request is closed after this long.
    public var keepAliveTimeout: Duration = .seconds(60)
    /// `request_deadline_seconds`: longest exchange, from the request's headers to the end of its answer;
    /// a request still running then is cut (529, or an `error` event in a stream). nil (written 0): none.
    public var requestDeadline: Duration? = .seconds(3600)

    /// Connections accepted beyond `maxConnections`, each only to answer `/health` (and `/`, `/metrics`)
    /// or a 503, then closed.
    public static let spareConnections = 32

    /// Every setting at its documented default.
    public init() {}
}

/// `spark_bridge.health`: how each backend is probed (`GET /health` and `GET /v1/models`) and when it counts as down or up.
public struct HealthSettings: Sendable, Equatable {
    /// `interval_seconds`: time between two probes of a backend.
    public var interval: Duration = .seconds(5)
    /// `timeout_seconds`: a probe slower than this failed; at most `interval`.
    public var timeout: Duration = .seconds(2)
    /// `failures_before_down`: consecutive failed probes that mark an up backend down.
    public var failuresBeforeDown = 2
    /// `successes_before_up`: consecutive good probes that mark a down backend up.
    public var successesBeforeUp = 1
    /// `read_backend_metrics`: each round also reads the backend's Prometheus `/metrics` (vLLM's
    /// running and waiting requests, KV-cache usage, prefix-cache hits), shown by `sparkctl health`
    /// and used by least-busy routing.
    public var readBackendMetrics = true

    /// Every setting at its documented default.
    public init() {}
}

/// `spark_bridge.warmup`: one-token requests that load each model at start and keep it hot.
public struct WarmupSettings: Sendable, Equatable {
    /// `enabled`: send a warmup request to every backend model at start, when a backend comes back up,
    /// and when a reload adds a backend or changes its models.
    public var enabled = true
    /// `interval_seconds`: repeat the warmup this often; nil (written 0) warms up only on those events.
    public var interval: Duration?
    /// `max_tokens`: tokens asked for in each warmup request.
    public var maxTokens = 1

    /// Every setting at its documented default.
    public init() {}
}

/// `spark_bridge.log_level`, with swift-log's level names.
public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
