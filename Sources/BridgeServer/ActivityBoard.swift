// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers

/// Live traffic per alias and per backend, for `sparkctl top`: requests and streams in flight, and an
/// `ActivityWindow` of the last minute for each.
///
/// Bounded: aliases and backends come from the configuration (model names matching no alias count
/// as `-`); one that has had neither traffic nor requests in flight for a whole window is forgotten
/// when a new name arrives.
public final class ActivityBoard: Sendable {
    /// Seconds on the monotonic clock `ActivityWindow` counts in.
    typealias Clock = @Sendable () -> Int64

    struct Entry: Sendable {
        var window = ActivityWindow()
        var requestsInFlight = 0
        var streamsInFlight = 0
    }

    struct State: Sendable {
        var aliases: [String: Entry] = [:]
        var backends: [String: Entry] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let clock: Clock

    /// A board on the process's monotonic clock.
    public convenience init() {
        let origin = ContinuousClock.now
        self.init(clock: { (ContinuousClock.now - origin).seconds })
    }

    init(clock: @escaping Clock) {
        self.clock = clock
    }

    /// The current second of the board's clock.
    var now: Int64 { clock() }

    /// A request was routed to `backend` for `alias`.
    func requestStarted(alias: String, backend: String) {
        update(alias: alias, backend: backend) { $0.requestsInFlight += 1 }
    }

    /// That request started streaming its answer.
    func streamStarted(alias: String, backend: String) {
        update(alias: alias, backend: backend) { $0.streamsInFlight += 1 }
    }

    /// Answer tokens went to the client.
    func outputTokens(_ count: Int, alias: String, backend: String) {
        let second = now
        update(alias: alias, backend: backend) { $0.window.recordOutputTokens(count, at: second) }
    }

    /// A routed request ended; `streamed` when `streamStarted` was called for it.
    func requestFinished(alias: String, backend: String, streamed: Bool, timeToFirstTokenMs: Double?, failed: Bool, remainingOutputTokens: Int) {
        let second = now
        update(alias: alias, backend: backend) { entry in
            entry.requestsInFlight = max(0, entry.requestsInFlight - 1)
            if streamed { entry.streamsInFlight = max(0, entry.streamsInFlight - 1) }
            entry.window.recordOutputTokens(remainingOutputTokens, at: second)
            entry.window.recordFinished(at: second, timeToFirstTokenMs: timeToFirstTokenMs, failed: failed)
        }
    }

    /// A request that was never routed (unknown model, invalid body…) ended: counted for its alias
    /// (or `-`), no backend.
    func unroutedRequestFinished(alias: String?, failed: Bool) {
        let second = now
        state.withLockedValue { state in
            Self.change(&state.aliases, alias ?? "-", now: second) { $0.window.recordFinished(at: second, timeToFirstTokenMs: nil, failed: failed) }
        }
    }

    /// Every entry's in-flight counts and window summary at this second.
    func snapshot(sparklinePoints: Int) -> (aliases: [String: Snapshot], backends: [String: Snapshot]) {
        let second = now
        return state.withLockedValue { state in
            func summarize(_ entries: [String: Entry]) -> [String: Snapshot] {
                entries.mapValues { Snapshot(requestsInFlight: $0.requestsInFlight, streamsInFlight: $0.streamsInFlight, window: $0.window.summary(now: second, sparklinePoints: sparklinePoints)) }
            }
            return (summarize(state.aliases), summarize(state.backends))
        }
    }

    /// An entry's figures.
    struct Snapshot: Sendable, Equatable {
        var requestsInFlight: Int
        var streamsInFlight: Int
        var window: ActivityWindow.Summary
    }

    private func update(alias: String, backend: String, _ change: (inout Entry) -> Void) {
        let second = now
        state.withLockedValue { state in
            Self.change(&state.aliases, alias, now: second, change)
            Self.change(&state.backends, backend, now: second, change)
        }
    }

    private static func change(_ entries: inout [String: Entry], _ name: String, now: Int64, _ change: (inout Entry) -> Void) {
        if entries[name] == nil {
            entries = entries.filter { !($0.value.requestsInFlight == 0 && $0.value.window.isIdle(now: now)) }
        }
        change(&entries[name, default: Entry()])
    }
}
