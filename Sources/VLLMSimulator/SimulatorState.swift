// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOConcurrencyHelpers

/// The mutable state all connections share: health, the cold-start flag, the request log and the
/// engine (scheduler, prefix cache, counters).
final class SimulatorState: Sendable {
    let configuration: SimulatorConfiguration
    /// When the server started, seconds since 1970 (`created` of `/v1/models`).
    let startedAt: Int
    /// When the server started, seconds since 1970 with a fraction (the counters' `_created`).
    let startedAtSeconds: Double

    /// Starts a request that had to wait, on its own event loop.
    typealias Resume = @Sendable (EngineScheduler.Admission) -> Void

    private struct Engine: Sendable {
        var scheduler: EngineScheduler
        var resumes: [Int: Resume] = [:]
    }

    private let engine: NIOLockedValueBox<Engine>

    private struct Mutable: Sendable {
        var healthy: Bool
        var coldStartPending: Bool
        var requests: [RecordedRequest] = []
        /// Completion requests `--fail-status` still answers (nil: every one).
        var failuresLeft: Int?
        /// `id` of `requests[0]`.
        var firstID = 1
        var nextID = 1
    }

    private let state: NIOLockedValueBox<Mutable>

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        startedAtSeconds = Date().timeIntervalSince1970
        startedAt = Int(startedAtSeconds)
        engine = NIOLockedValueBox(Engine(scheduler: EngineScheduler(
            maxRunning: configuration.maxNumSeqs, kvCacheTokens: configuration.kvCacheTokens
        )))
        state = NIOLockedValueBox(Mutable(
            healthy: configuration.startHealthy, coldStartPending: configuration.coldStartMilliseconds > 0,
            failuresLeft: configuration.failCount > 0 ? configuration.failCount : nil
        ))
    }

    var isHealthy: Bool {
        get { state.withLockedValue { $0.healthy } }
        set { state.withLockedValue { $0.healthy = newValue } }
    }

    /// The status `--fail-status` answers this completion request with, or nil once its count is used up.
    func takeScriptedFailure() -> Int? {
        guard let status = configuration.failStatus else { return nil }
        return state.withLockedValue { state in
            guard let left = state.failuresLeft else { return status }
            guard left > 0 else { return nil }
            state.failuresLeft = left - 1
            return status
        }
    }

    /// `true` exactly once: for the first completion request while a cold start is configured.
    func takeColdStart() -> Bool {
        state.withLockedValue { state in
            defer { state.coldStartPending = false }
            return state.coldStartPending
        }
    }

    /// Logs a request and returns its id.
    func record(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) -> Int {
        let limit = configuration.recordLimit
        let receivedAt = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        return state.withLockedValue { state in
            let id = state.nextID
            state.nextID += 1
            if state.requests.isEmpty { state.firstID = id }
            state.requests.append(RecordedRequest(
                id: id, method: method, path: path, headers: headers, body: body,
                receivedAt: receivedAt, status: nil, completed: false, aborted: false
            ))
            // Trim in batches so that appending stays amortised O(1).
            if state.requests.count > limit + limit / 4 {
                let excess = state.requests.count - limit
                state.requests.removeFirst(excess)
                state.firstID += excess
            }
            return id
        }
    }

    /// Updates a logged request, if it is still in the log.
    func update(_ id: Int, _ change: @Sendable (inout RecordedRequest) -> Void) {
        state.withLockedValue { state in
            let index = id - state.firstID
            guard index >= 0, index < state.requests.count, state.requests[index].id == id else { return }
            change(&state.requests[index])
        }
    }

    /// Every logged request, oldest first.
    var recordedRequests: [RecordedRequest] { state.withLockedValue { $0.requests } }

    /// Forgets every logged request.
    func resetRecord() {
        state.withLockedValue { state in
            state.requests.removeAll()
            state.firstID = state.nextID
        }
    }

    /// Submits a completion to the engine: its admission now when a slot is free, else `nil` and
    /// `resume` is called (from whichever thread frees a slot) when it starts.
    func submit(tokens: [Int], promptTokens: Int, resume: @escaping Resume) -> (ticket: Int, admission: EngineScheduler.Admission?) {
        engine.withLockedValue { engine in
            let submitted = engine.scheduler.submit(tokens: tokens, promptTokens: promptTokens)
            if submitted.admission == nil { engine.resumes[submitted.ticket] = resume }
            return submitted
        }
    }

    /// Ends a completion (finished, failed, or its client left, running or waiting) and starts the
    /// requests that get its slot.
    func release(_ ticket: Int) {
        let started: [(EngineScheduler.Admission, Resume?)] = engine.withLockedValue { engine in
            engine.resumes[ticket] = nil
            return engine.scheduler.release(ticket).map { ($0, engine.resumes.removeValue(forKey: $0.ticket)) }
        }
        for (admission, resume) in started { resume?(admission) }
    }

    /// The engine's gauges and counters now.
    var metrics: EngineMetrics {
        engine.withLockedValue { engine in
            let scheduler = engine.scheduler
            return EngineMetrics(
                running: scheduler.runningCount, waiting: scheduler.waitingCount, kvCacheUsage: scheduler.kvCacheUsage,
                prefixCacheQueries: scheduler.queriedTokens, prefixCacheHits: scheduler.hitTokens
            )
        }
    }
}
