// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers
import NIOCore

/// Requests in flight, for drain and shutdown: counts them, and can cut the ones still running when a
/// deadline passes (each is ended on its own event loop with an Anthropic error).
public final class RequestTracker: Sendable {
    /// How to end one request early, on its event loop.
    struct Cutter: Sendable {
        let eventLoop: any EventLoop
        let cut: @Sendable () -> Void
    }

    private struct State {
        var active: [String: Cutter] = [:]
        var streaming: Set<String> = []
        var total = 0
    }

    private let state = NIOLockedValueBox(State())
    private let idle = IdleWaiters()

    public init() {}

    public var requestsInFlight: Int { state.withLockedValue { $0.active.count } }
    public var streamsInFlight: Int { state.withLockedValue { $0.streaming.count } }
    public var requestsTotal: Int { state.withLockedValue { $0.total } }

    func begin(_ requestID: String, cutter: Cutter) {
        state.withLockedValue {
            $0.active[requestID] = cutter
            $0.total += 1
        }
    }

    func streamStarted(_ requestID: String) {
        _ = state.withLockedValue { $0.streaming.insert(requestID) }
    }

    func end(_ requestID: String) {
        let nowIdle = state.withLockedValue {
            $0.active[requestID] = nil
            $0.streaming.remove(requestID)
            return $0.active.isEmpty
        }
        if nowIdle { idle.wake() }
    }

    /// Waits until no request is in flight or `deadline` passes; returns how many were still running.
    /// Woken by the end of the last request (no polling); the deadline is a timer.
    public func waitUntilIdle(deadline: ContinuousClock.Instant) async -> Int {
        await idle.wait(until: deadline) { [self] in requestsInFlight == 0 }
        return requestsInFlight
    }

    /// Ends every request still in flight; returns how many were cut.
    @discardableResult
    public func cutAll() -> Int {
        let cutters = state.withLockedValue { Array($0.active.values) }
        for cutter in cutters { cutter.eventLoop.execute { cutter.cut() } }
        return cutters.count
    }
}
