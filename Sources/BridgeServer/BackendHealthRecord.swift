// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import FoundationEssentials

/// What the monitor knows about one backend, and the hysteresis that turns check and request results
/// into up/down. A value with no I/O: every rule is a unit test.
struct BackendHealthRecord: Sendable, Equatable {
    /// A change of state: logged once, reported to `onStateChange`.
    struct Transition: Sendable, Equatable {
        var from: BackendState
        var to: BackendState
    }

    private(set) var state = BackendState.unknown
    private(set) var consecutiveFailures = 0
    private(set) var consecutiveSuccesses = 0
    /// A request failed (transport error or 5xx) since the last successful check: routing prefers
    /// other deployments until a check (or a request) succeeds.
    private(set) var suspect = false
    private(set) var lastCheck: Date?
    private(set) var latencyMs: Double?
    private(set) var lastError: String?
    private(set) var models: [BackendModel] = []
    /// The last warmup round since the backend came up succeeded.
    var warm = false
    var lastWarmupLatencyMs: Double?
    /// The backend's own load from its `/metrics` at the last round; nil when not read.
    var load: BackendLoad?

    /// A health check passed: counts toward up, clears the failure streak, suspicion and error.
    mutating func checkSucceeded(at time: Date, latencyMs: Double, models: [BackendModel], settings: HealthSettings) -> Transition? {
        lastCheck = time
        self.latencyMs = latencyMs
        self.models = models
        lastError = nil
        suspect = false
        consecutiveFailures = 0
        consecutiveSuccesses += 1
        guard state != .up, consecutiveSuccesses >= max(1, settings.successesBeforeUp) else { return nil }
        return move(to: .up)
    }

    /// A health check failed: counts toward down.
    mutating func checkFailed(at time: Date, error: String, settings: HealthSettings) -> Transition? {
        lastCheck = time
        return failed(error: error, settings: settings)
    }

    /// A user request failed on this backend (transport error or 5xx): counts toward down like a failed
    /// check, and makes the backend suspect until something succeeds.
    mutating func requestFailed(error: String, settings: HealthSettings) -> Transition? {
        suspect = true
        return failed(error: error, settings: settings)
    }

    /// A user request got a 5xx answer: the backend is alive, so nothing counts toward down, but it is
    /// suspect (avoided while another deployment is healthy) until something succeeds.
    mutating func answeredWithError(error: String) {
        suspect = true
        lastError = error
    }

    /// A user request succeeded: the backend answers, so the failure streak and suspicion end, and a
    /// backend marked down is up at once (it was tried in panic mode and works: no need to wait for
    /// the next check).
    mutating func requestSucceeded() -> Transition? {
        suspect = false
        consecutiveFailures = 0
        lastError = nil
        guard state == .down else { return nil }
        return move(to: .up)
    }

    private mutating func failed(error: String, settings: HealthSettings) -> Transition? {
        lastError = error
        consecutiveSuccesses = 0
        consecutiveFailures += 1
        guard state != .down, consecutiveFailures >= max(1, settings.failuresBeforeDown) else { return nil }
        return move(to: .down)
    }

    private mutating func move(to next: BackendState) -> Transition {
        let transition = Transition(from: state, to: next)
        state = next
        if next == .down { warm = false }
        return transition
    }
}
