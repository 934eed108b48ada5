// SPDX-License-Identifier: Apache-2.0
/// Running totals of the health monitor since it was made, for a metrics layer to read (and export as
/// counters). Warmups are counted here, never with user requests.
public struct HealthCounters: Sendable, Hashable {
    /// Health checks that reached a verdict (cancelled ones are not counted).
    public var checks = 0
    /// Of those, the failed ones.
    public var checkFailures = 0
    /// User requests that failed on a backend (transport error or 5xx) and were counted toward down.
    public var requestFailures = 0
    /// Backends that changed state (unknown/down/up).
    public var stateChanges = 0
    /// Warmup requests answered 200.
    public var warmupsDone = 0
    /// Warmup requests that failed.
    public var warmupFailures = 0

    /// All zero.
    public init() {}
}
