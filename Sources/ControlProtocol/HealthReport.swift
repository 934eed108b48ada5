// SPDX-License-Identifier: Apache-2.0
import Foundation

/// `health`: what the health monitor and the warmup pinger know about each backend.
public struct HealthReport: Codable, Sendable, Equatable {
    /// One entry per configured backend, in configuration order.
    public var backends: [BackendHealth]

    /// A report over `backends`.
    public init(backends: [BackendHealth]) {
        self.backends = backends
    }
}

/// One backend's health. Unknown values are sent as JSON `null`, never left out, so scripts can rely on every key.
public struct BackendHealth: Codable, Sendable, Equatable {
    /// The backend's name (`host:port`), as `aliases` and `drain --backend` use it.
    public var name: String
    /// Its `api_base`.
    public var url: String
    /// Up, down, or not probed yet.
    public var state: BackendState
    /// When it was last probed; nil before the first probe.
    public var lastCheck: Date?
    /// How long the last successful probe took, in milliseconds.
    public var latencyMs: Double?
    /// Why the last probe failed; nil when it succeeded.
    public var lastError: String?
    /// The models the backend reported serving.
    public var models: [BackendModel]
    /// True when the last warmup request succeeded, so the models are loaded and hot.
    public var warm: Bool
    /// How long the last warmup request took, in milliseconds.
    public var lastWarmupLatencyMs: Double?

    /// A backend's health with every field given.
    public init(
        name: String, url: String, state: BackendState, lastCheck: Date? = nil, latencyMs: Double? = nil,
        lastError: String? = nil, models: [BackendModel] = [], warm: Bool = false, lastWarmupLatencyMs: Double? = nil
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
    }

    enum CodingKeys: String, CodingKey {
        case name, url, state
        case lastCheck = "last_check"
        case latencyMs = "latency_ms"
        case lastError = "last_error"
        case models, warm
        case lastWarmupLatencyMs = "last_warmup_latency_ms"
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
    }
}

/// A backend's state as the health monitor sees it.
public enum BackendState: String, Codable, Sendable, Equatable, CaseIterable {
    /// The last probes succeeded.
    case up
    /// The last probes failed; requests for it are answered 529.
    case down
    /// Not probed yet.
    case unknown
}

/// A model a backend serves, from its `GET /v1/models`.
public struct BackendModel: Codable, Sendable, Equatable {
    /// The model id.
    public var id: String
    /// The context length vLLM reports; nil when it does not say.
    public var maxModelLen: Int?

    /// A model and its context length.
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
