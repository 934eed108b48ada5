// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// The bridge's health: the body of `GET /health` and the result of the control verb `health`, one
/// document (encoded by ``ControlWire/makeEncoder()`` on both paths, so `sparkctl health --json` prints
/// what `/health` serves).
///
/// Durations are milliseconds, and every key that holds one says so (`_ms`). Unknown values are sent
/// as JSON `null`, never left out, so scripts can rely on every key; a reader accepts documents that
/// leave optional keys out, so a newer field can be added without breaking an older `sparkctl`.
public struct HealthReport: Codable, Sendable, Equatable {
    /// How many aliases the configuration defines (patterns included).
    public var aliases: Int
    /// One entry per configured backend, in configuration order.
    public var backends: [BackendHealth]

    /// Ready to serve: the configuration defines at least one alias.
    public var ready: Bool { aliases > 0 }

    /// `ok` when ``ready``, `no_aliases` when not.
    public var status: ReadinessStatus { ready ? .ok : .noAliases }

    /// A report over `backends`, for a configuration with `aliases` aliases.
    public init(aliases: Int = 0, backends: [BackendHealth]) {
        self.aliases = aliases
        self.backends = backends
    }

    enum CodingKeys: String, CodingKey {
        case status, ready, aliases, backends
    }

    /// Reads a report; `aliases` may be missing (0). `status` and `ready` follow from it and are not read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        aliases = try container.decodeIfPresent(Int.self, forKey: .aliases) ?? 0
        backends = try container.decode([BackendHealth].self, forKey: .backends)
    }

    /// Encodes `status`, `ready`, `aliases` and `backends`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(ready, forKey: .ready)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(backends, forKey: .backends)
    }
}

/// The `status` of a ``HealthReport``.
public enum ReadinessStatus: String, Codable, Sendable, Equatable, CaseIterable {
    /// The configuration defines aliases: requests can be routed.
    case ok
    /// The configuration defines no alias: every model request is refused.
    case noAliases = "no_aliases"
}

/// One backend's health: what the health monitor and the warmup pinger last concluded, with the
/// router's view (drained, requests in flight) at the same moment.
///
/// To add a figure (say a backend's load), add an optional property, a coding key, and a line in
/// `encode(to:)`; ``init(from:)`` reads it with `decodeIfPresent`.
public struct BackendHealth: Codable, Sendable, Equatable {
    /// The backend's name (`host:port`), as `aliases` and `drain --backend` use it.
    public var name: String
    /// Its `api_base`.
    public var url: String
    /// Up, down, or not checked enough yet.
    public var state: BackendState
    /// When the last health check finished; nil before the first.
    public var lastCheck: Date?
    /// How long the last successful health check took, in milliseconds.
    public var latencyMs: Double?
    /// Why the last check (or a user request since) failed; nil after a successful check.
    public var lastError: String?
    /// What the last successful `GET /v1/models` listed.
    public var models: [BackendModel]
    /// True when the last warmup round since the backend came up succeeded for every model.
    public var warm: Bool
    /// How long the last successful warmup round took, in milliseconds (a cold start shows here).
    public var lastWarmupLatencyMs: Double?
    /// Drained by the control plane (`sparkctl drain --backend`): no new requests are routed to it.
    public var drained: Bool
    /// User requests to this backend started and not yet completed (warmups and checks excluded).
    public var inFlight: Int
    /// The backend's own load from its Prometheus `/metrics` at the last health round; nil when not
    /// read (no page, a 404, `health.read_backend_metrics: false`) or not yet.
    public var load: BackendLoad?

    /// A backend's health; what is not given is not known yet.
    public init(
        name: String, url: String, state: BackendState, lastCheck: Date? = nil, latencyMs: Double? = nil,
        lastError: String? = nil, models: [BackendModel] = [], warm: Bool = false, lastWarmupLatencyMs: Double? = nil,
        drained: Bool = false, inFlight: Int = 0, load: BackendLoad? = nil
    ) {
        self.name = name
        self.url = url
        self.state = state
        self.lastCheck = lastCheck
        self.latencyMs = latencyMs
        self.lastError = lastError
        self.models = models
        self.warm = warm
        self.lastWarmupLatencyMs = lastWarmupLatencyMs
        self.drained = drained
        self.inFlight = inFlight
        self.load = load
    }

    enum CodingKeys: String, CodingKey {
        case name, url, state
        case lastCheck = "last_check"
        case latencyMs = "latency_ms"
        case lastError = "last_error"
        case models, warm
        case lastWarmupLatencyMs = "last_warmup_latency_ms"
        case drained
        case inFlight = "in_flight"
        case load
    }

    /// Reads a backend's health; every key but `name`, `url` and `state` may be missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        url = try container.decode(String.self, forKey: .url)
        state = try container.decode(BackendState.self, forKey: .state)
        lastCheck = try container.decodeIfPresent(Date.self, forKey: .lastCheck)
        latencyMs = try container.decodeIfPresent(Double.self, forKey: .latencyMs)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
        models = try container.decodeIfPresent([BackendModel].self, forKey: .models) ?? []
        warm = try container.decodeIfPresent(Bool.self, forKey: .warm) ?? false
        lastWarmupLatencyMs = try container.decodeIfPresent(Double.self, forKey: .lastWarmupLatencyMs)
        drained = try container.decodeIfPresent(Bool.self, forKey: .drained) ?? false
        inFlight = try container.decodeIfPresent(Int.self, forKey: .inFlight) ?? 0
        load = try container.decodeIfPresent(BackendLoad.self, forKey: .load)
    }

    /// Encodes every key, `null` for unknown values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(url, forKey: .url)
        try container.encode(state, forKey: .state)
        try container.encode(lastCheck, forKey: .lastCheck)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(models, forKey: .models)
        try container.encode(warm, forKey: .warm)
        try container.encode(lastWarmupLatencyMs, forKey: .lastWarmupLatencyMs)
        try container.encode(drained, forKey: .drained)
        try container.encode(inFlight, forKey: .inFlight)
        try container.encode(load, forKey: .load)
    }
}

/// Whether a backend answers its health checks, as the health monitor last concluded.
public enum BackendState: String, Codable, Sendable, Hashable, CaseIterable {
    /// `successes_before_up` consecutive checks passed (or a request succeeded since it was down). Routed to.
    case up
    /// `failures_before_down` consecutive checks or requests failed. Not routed to while another
    /// deployment of the alias is up; requests only it serves are answered 529.
    case down
    /// Not checked enough yet to say (at start, after a reload added it). Routed to.
    case unknown
}

/// A model a backend serves, from its `GET /v1/models`, with its context window.
public struct BackendModel: Codable, Sendable, Hashable {
    /// The model id, as requests name it.
    public var id: String
    /// vLLM's `max_model_len`: prompt plus completion tokens; nil when the backend does not say.
    public var maxModelLen: Int?

    /// A served model and its context window.
    public init(id: String, maxModelLen: Int? = nil) {
        self.id = id
        self.maxModelLen = maxModelLen
    }

    enum CodingKeys: String, CodingKey {
        case id
        case maxModelLen = "max_model_len"
    }

    /// Encodes both keys, `null` for an unknown context length.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(maxModelLen, forKey: .maxModelLen)
    }
}
