// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Foundation

/// Whether a backend answers its health checks, as the health monitor last concluded.
public enum BackendHealthState: String, Sendable, Hashable, CaseIterable {
    /// Not checked enough yet to say (at start, after a reload added it). Routed to.
    case unknown
    /// `failuresBeforeDown` consecutive checks or requests failed. Not routed to.
    case down
    /// `successesBeforeUp` consecutive checks passed. Routed to.
    case up
}

/// A model a backend says it serves (`GET /v1/models`), with its context window.
public struct BackendModelInfo: Sendable, Hashable {
    /// The model id, as requests name it.
    public let id: String
    /// vLLM's `max_model_len`: prompt plus completion tokens; nil when the backend does not say.
    public let maxModelLen: Int?

    /// A served model.
    public init(id: String, maxModelLen: Int?) {
        self.id = id
        self.maxModelLen = maxModelLen
    }
}

/// One backend's health as the control plane and `/health` show it: a plain value, copied out of the
/// monitor (and the router, for `drained` and `inFlight`) at one moment.
public struct BackendHealthReport: Sendable, Hashable {
    /// `Backend.name`: `host:port`.
    public let name: String
    /// The backend's `api_base`.
    public let url: String
    public let state: BackendHealthState
    /// When the last health check finished; nil before the first.
    public let lastCheck: Date?
    /// How long the last successful check took, in milliseconds.
    public let latencyMs: Int?
    /// Why the last check (or a request since) failed; nil after a successful check.
    public let lastError: String?
    /// What the last successful `GET /v1/models` listed.
    public let models: [BackendModelInfo]
    /// Whether the last warmup round since the backend came up succeeded for every model.
    public let warm: Bool
    /// How long the last successful warmup round took, in milliseconds (the cold start shows here).
    public let lastWarmupLatencyMs: Int?
    /// Whether the control plane has drained it: no new requests are routed to it.
    public let drained: Bool
    /// User requests to this backend started and not yet completed (warmups and checks excluded).
    public let inFlight: Int

    /// A report; every field as documented above.
    public init(
        name: String, url: String, state: BackendHealthState, lastCheck: Date?, latencyMs: Int?, lastError: String?,
        models: [BackendModelInfo], warm: Bool, lastWarmupLatencyMs: Int?, drained: Bool = false, inFlight: Int = 0
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
    }

    /// The same report with the router's view (drained, requests in flight) filled in.
    func with(drained: Bool, inFlight: Int) -> BackendHealthReport {
        BackendHealthReport(
            name: name, url: url, state: state, lastCheck: lastCheck, latencyMs: latencyMs, lastError: lastError,
            models: models, warm: warm, lastWarmupLatencyMs: lastWarmupLatencyMs, drained: drained, inFlight: inFlight
        )
    }

    /// The object `/health` lists for this backend (snake_case keys, nulls kept so the shape is stable).
    var jsonValue: JSONValue {
        let models: [JSONValue] = models.map { ["id": .string($0.id), "max_model_len": $0.maxModelLen.map(JSONValue.int) ?? .null] }
        return [
            "name": .string(name),
            "url": .string(url),
            "state": .string(state.rawValue),
            "drained": .bool(drained),
            "in_flight": .int(inFlight),
            "last_check": lastCheck.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null,
            "latency_ms": latencyMs.map(JSONValue.int) ?? .null,
            "last_error": lastError.map(JSONValue.string) ?? .null,
            "models": .array(models),
            "warm": .bool(warm),
            "last_warmup_latency_ms": lastWarmupLatencyMs.map(JSONValue.int) ?? .null,
        ]
    }
}
