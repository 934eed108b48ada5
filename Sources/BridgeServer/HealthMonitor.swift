// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import ControlProtocol
import FoundationEssentials
import Logging
import NIOConcurrencyHelpers

/// Watches every backend of the configuration: checks each one every `health.interval`
/// (``BackendProbe``), turns results into up/down with hysteresis (``BackendHealthRecord``), learns the
/// models and their `max_model_len`, and warms models up (``WarmupPinger``) when a backend comes up and
/// every `warmup.interval`.
///
/// One task per backend sleeps on the clock between checks; ``stop()`` cancels them, which cancels the
/// check or warmup transfers in progress, so stopping is prompt. The monitor follows reloads through
/// ``update(configuration:)`` (called by `BridgeContext.replaceConfiguration`): backends that stay keep
/// their state, new ones start unknown, removed ones are forgotten.
///
/// Routing reads ``availability(of:)``; while the monitor is not running every backend is available,
/// so a bridge without a monitor routes exactly as before.
public final class HealthMonitor: Sendable {
    /// Called once per state change, with the new report and the previous state: on a monitor task, or
    /// on the event loop of the user request whose failure marked the backend down (or whose success
    /// brought it back up). Must not block.
    public typealias StateChangeHandler = @Sendable (_ report: BackendHealth, _ previous: BackendState) -> Void

    private struct Entry {
        /// Tells this backend's tasks from those of an earlier entry for the same `api_base`.
        var id: Int
        var backend: Backend
        var record = BackendHealthRecord()
        var loop: Task<Void, Never>?
        var warmup: Task<Void, Never>?
        var warming = false
        /// Tells the current warmup round from one cancelled since (which must not touch the entry).
        var warmupRound = 0
        /// When the last warmup round started; nil asks for one at the next check that finds it up.
        var lastWarmupStart: ContinuousClock.Instant?
        /// Why the backend serves no vLLM `/metrics`, once logged; cleared when a page is read again.
        var metricsUnserved: String?

        /// The monitor's part of the backend's health (the router fills in `drained` and `inFlight`).
        var report: BackendHealth {
            BackendHealth(
                name: backend.name, url: backend.apiBase.absoluteString, state: record.state, lastCheck: record.lastCheck,
                latencyMs: record.latencyMs, lastError: record.lastError, models: record.models, warm: record.warm,
                lastWarmupLatencyMs: record.lastWarmupLatencyMs, load: record.load
            )
        }

        /// Starts a warmup round with `task`, made for round `warmupRound + 1`.
        mutating func beginWarmup(at time: ContinuousClock.Instant, _ makeTask: (Int) -> Task<Void, Never>) {
            warmupRound += 1
            warming = true
            lastWarmupStart = time
            warmup = makeTask(warmupRound)
        }

        /// Cancels the warmup round in progress, if any; returns its task.
        @discardableResult
        mutating func cancelWarmup() -> Task<Void, Never>? {
            let task = warmup
            task?.cancel()
            warmup = nil
            warming = false
            warmupRound += 1
            return task
        }
    }

    private struct State {
        var settings: BridgeSettings
        /// Keys in configuration order.
        var order: [String] = []
        var entries: [String: Entry] = [:]
        var nextID = 0
        var running = false
        var onStateChange: StateChangeHandler?
        var counters = HealthCounters()
        /// Tasks cancelled by the last ``stop()``, for ``waitUntilStopped()``.
        var stopping: [Task<Void, Never>] = []
    }

    /// A state change to announce once the lock is released.
    private struct Announcement {
        var transition: BackendHealthRecord.Transition
        var report: BackendHealth
        var handler: StateChangeHandler?
    }

    private let state: NIOLockedValueBox<State>
    private let transport: UpstreamTransport
    private let logger: Logger
    private let clock = ContinuousClock()

    /// A monitor for the backends of `configuration`, not yet running: call ``start()``.
    public init(configuration: BridgeConfiguration, transport: UpstreamTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
        var initial = State(settings: configuration.settings)
        for backend in configuration.backends {
            let key = Self.key(backend.apiBase)
            initial.order.append(key)
            initial.entries[key] = Entry(id: initial.nextID, backend: backend)
            initial.nextID += 1
        }
        state = NIOLockedValueBox(initial)
    }

    deinit {
        state.withLockedValue { state in
            for entry in state.entries.values {
                entry.loop?.cancel()
                entry.warmup?.cancel()
            }
        }
    }

    // MARK: Public API

    /// Starts checking every backend now and then every `health.interval`. Backends found up are
    /// warmed (when `warmup.enabled`). Does nothing when already running.
    public func start() {
        state.withLockedValue { state in
            guard !state.running else { return }
            state.running = true
            for key in state.order {
                guard var entry = state.entries[key] else { continue }
                entry.lastWarmupStart = nil
                entry.loop = makeLoop(key: key, id: entry.id)
                state.entries[key] = entry
            }
        }
        logger.info("health monitor started")
    }

    /// Stops checking and warming: cancels the tasks and their transfers in progress. Returns at once;
    /// ``waitUntilStopped()`` waits for the tasks to end. States are kept (and no longer used for routing).
    public func stop() {
        let stopped = state.withLockedValue { state -> Bool in
            guard state.running else { return false }
            state.running = false
            state.stopping = []
            for key in state.order {
                guard var entry = state.entries[key] else { continue }
                if let loop = entry.loop {
                    loop.cancel()
                    state.stopping.append(loop)
                }
                entry.loop = nil
                if let warmup = entry.cancelWarmup() { state.stopping.append(warmup) }
                state.entries[key] = entry
            }
            return true
        }
        if stopped { logger.info("health monitor stopped") }
    }

    /// Waits until the tasks cancelled by the last ``stop()`` have ended.
    public func waitUntilStopped() async {
        for task in state.withLockedValue({ $0.stopping }) { await task.value }
    }

    /// Whether ``start()`` was called and ``stop()`` not since.
    public var isRunning: Bool { state.withLockedValue { $0.running } }

    /// Every backend of the current configuration, in configuration order.
    public func snapshot() -> [BackendHealth] {
        state.withLockedValue { state in state.order.compactMap { state.entries[$0]?.report } }
    }

    /// Told of every state change (metrics, the control plane). Replaces the previous handler.
    public var onStateChange: StateChangeHandler? {
        get { state.withLockedValue { $0.onStateChange } }
        set { state.withLockedValue { $0.onStateChange = newValue } }
    }

    /// Totals since the monitor was made.
    public var counters: HealthCounters { state.withLockedValue { $0.counters } }

    /// The context window the backend at `apiBase` reported for `model` at its last successful check.
    public func maxModelLen(model: String, apiBase: URL) -> Int? {
        state.withLockedValue { state in
            state.entries[Self.key(apiBase)]?.record.models.first { $0.id == model }?.maxModelLen
        }
    }

    /// The backend's own load (vLLM's `/metrics`) at its last round; nil when unknown, stale (the
    /// backend's last check failed), or the monitor is not running.
    public func load(of apiBase: URL) -> BackendLoad? {
        state.withLockedValue { state in state.running ? state.entries[Self.key(apiBase)]?.record.load : nil }
    }

    // MARK: Used by BridgeContext and routing

    /// Follows a reload: settings are taken over, backends that stay keep their state (and are warmed
    /// again when their model set changed), new ones start unknown and are checked at once when
    /// running, removed ones are cancelled and forgotten.
    func update(configuration: BridgeConfiguration) {
        let (added, removed) = state.withLockedValue { state -> ([String], [String]) in
            state.settings = configuration.settings
            var kept: [String: Entry] = [:]
            var order: [String] = []
            var added: [String] = []
            for backend in configuration.backends {
                let key = Self.key(backend.apiBase)
                order.append(key)
                if var entry = state.entries.removeValue(forKey: key) {
                    if entry.backend.models != backend.models { entry.lastWarmupStart = nil }
                    entry.backend = backend
                    kept[key] = entry
                } else {
                    var entry = Entry(id: state.nextID, backend: backend)
                    state.nextID += 1
                    if state.running { entry.loop = makeLoop(key: key, id: entry.id) }
                    kept[key] = entry
                    added.append(backend.name)
                }
            }
            let removed = state.order.compactMap { state.entries[$0] }.map { entry in
                entry.loop?.cancel()
                entry.warmup?.cancel()
                return entry.backend.name
            }
            state.entries = kept
            state.order = order
            return (added, removed)
        }
        for name in added { logger.info("health: watching backend \(name)", metadata: ["BACKEND": "\(name)"]) }
        for name in removed { logger.info("health: no longer watching backend \(name) (removed by reload)", metadata: ["BACKEND": "\(name)"]) }
    }

    /// Whether routing may use the backend at `apiBase`. Always healthy while the monitor is not
    /// running, and for a backend it does not know (one a reload removed, with requests still on it).
    func availability(of apiBase: URL) -> DeploymentAvailability {
        state.withLockedValue { state in
            guard state.running, let entry = state.entries[Self.key(apiBase)] else { return .healthy }
            if entry.record.state == .down { return .down(reason: entry.record.lastError) }
            return entry.record.suspect ? .suspect : .healthy
        }
    }

    /// A user request on the backend at `apiBase` ended: `failure` makes it suspect and, when
    /// `countsTowardDown` (transport failures, not a 5xx answer), counts toward down; a success ends
    /// the failure streak. Ignored while not running.
    func requestFinished(apiBase: URL, failure: String?, countsTowardDown: Bool = true) {
        let announcement = state.withLockedValue { state -> Announcement? in
            guard state.running, var entry = state.entries[Self.key(apiBase)] else { return nil }
            defer { state.entries[Self.key(apiBase)] = entry }
            guard let failure else {
                guard let transition = entry.record.requestSucceeded() else { return nil }
                state.counters.stateChanges += 1
                // Warm it again, as when a check brings it back.
                entry.lastWarmupStart = nil
                return Announcement(transition: transition, report: entry.report, handler: state.onStateChange)
            }
            state.counters.requestFailures += 1
            guard countsTowardDown else {
                entry.record.answeredWithError(error: "request failed: \(failure)")
                return nil
            }
            guard let transition = entry.record.requestFailed(error: "request failed: \(failure)", settings: state.settings.health) else { return nil }
            // A warmup of a backend that went down would only fail: the next up starts a fresh one.
            entry.cancelWarmup()
            state.counters.stateChanges += 1
            return Announcement(transition: transition, report: entry.report, handler: state.onStateChange)
        }
        if let announcement { announce(announcement) }
    }

    // MARK: Checking

    private static func key(_ apiBase: URL) -> String { apiBase.absoluteString }

    /// The task that checks one backend until cancelled or removed.
    private func makeLoop(key: String, id: Int) -> Task<Void, Never> {
        Task { [weak self] in
            while !Task.isCancelled {
                guard let interval = await self?.check(key: key, id: id) else { return }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One check; returns the time to the next, or nil when this backend's task should end.
    private func check(key: String, id: Int) async -> Duration? {
        guard let (backend, settings) = state.withLockedValue({ state in
            state.entries[key].flatMap { $0.id == id ? ($0.backend, state.settings) : nil }
        }) else { return nil }
        // The Anthropic API is never probed nor warmed: every probe would be a request on the user's
        // bill. Its state comes from user requests alone: down after `failures` failed connections in
        // a row (still tried when its alias has nothing else), up after a success.
        guard !backend.isAnthropic else { return nil }
        let requests = BackendProbe.requests(for: backend, settings: settings.health)
        let metricsRequest = settings.health.readBackendMetrics ? BackendProbe.metricsRequest(for: backend, settings: settings.health) : nil
        let started = clock.now
        async let health = UpstreamFetch.fetch(requests.health, on: transport)
        async let models = UpstreamFetch.fetch(requests.models, on: transport)
        async let page = fetchMetrics(metricsRequest)
        let verdict = BackendProbe.evaluate(health: await health, models: await models)
        let latency = (clock.now - started).inMilliseconds
        let metricsPage = await page
        guard !Task.isCancelled else { return nil }
        if let verdict {
            var reading: (load: BackendLoad?, unserved: String?) = (nil, nil)
            if let metricsPage, case .success(let served) = verdict {
                reading = BackendProbe.readLoad(metricsPage, models: Set(backend.models + served.map(\.id)), at: Date())
            }
            record(verdict, latencyMs: latency, load: reading, key: key, id: id)
        }
        return settings.health.interval
    }

    /// The backend's `/metrics` page, or nil when not asked for.
    private func fetchMetrics(_ request: UpstreamRequest?) async -> Result<FetchedResponse, UpstreamError>? {
        guard let request else { return nil }
        return await UpstreamFetch.fetch(request, on: transport, maximumBytes: PrometheusText.maximumBytes)
    }

    private func record(
        _ verdict: Result<[BackendModel], BackendProbe.CheckFailure>, latencyMs: Double, load reading: (load: BackendLoad?, unserved: String?),
        key: String, id: Int
    ) {
        let now = clock.now
        let (announcement, name, missing, unserved) = state.withLockedValue { state -> (Announcement?, String?, [String], String?) in
            guard var entry = state.entries[key], entry.id == id else { return (nil, nil, [], nil) }
            defer { state.entries[key] = entry }
            state.counters.checks += 1
            let transition: BackendHealthRecord.Transition?
            var missing: [String] = []
            entry.record.load = reading.load
            var newlyUnserved: String?
            if reading.load != nil { entry.metricsUnserved = nil }
            if let unserved = reading.unserved, entry.metricsUnserved == nil {
                entry.metricsUnserved = unserved
                newlyUnserved = unserved
            }
            switch verdict {
            case .success(let models):
                let knewModels = entry.record.models.map(\.id)
                transition = entry.record.checkSucceeded(at: Date(), latencyMs: latencyMs, models: models, settings: state.settings.health)
                if knewModels != models.map(\.id) {
                    let served = Set(models.map(\.id))
                    missing = entry.backend.models.filter { !served.contains($0) }
                }
            case .failure(let failure):
                state.counters.checkFailures += 1
                transition = entry.record.checkFailed(at: Date(), error: failure.message, settings: state.settings.health)
            }
            var announcement: Announcement?
            if let transition {
                if transition.to == .down { entry.cancelWarmup() }
                state.counters.stateChanges += 1
                announcement = Announcement(transition: transition, report: entry.report, handler: state.onStateChange)
            }
            let warmup = state.settings.warmup
            var due = transition?.to == .up || entry.lastWarmupStart == nil
            if let interval = warmup.interval, let last = entry.lastWarmupStart, now - last >= interval { due = true }
            if warmup.enabled, !entry.backend.isAnthropic, entry.record.state == .up, !entry.warming, due {
                entry.beginWarmup(at: now) { makeWarmup(key: key, id: id, round: $0) }
            }
            return (announcement, entry.backend.name, missing, newlyUnserved)
        }
        if let announcement { announce(announcement) }
        if let name, let unserved {
            logger.info("backend \(name) load unknown (\(unserved)): least-busy routing counts only this bridge's requests on it", metadata: ["BACKEND": "\(name)"])
        }
        if let name, !missing.isEmpty {
            logger.warning("backend \(name) does not serve \(missing.joined(separator: ", ")), which the configuration sends to it", metadata: ["BACKEND": "\(name)"])
        }
    }

    private func announce(_ announcement: Announcement) {
        let report = announcement.report
        let from = announcement.transition.from
        let metadata: Logger.Metadata = ["BACKEND": "\(report.name)", "HEALTH_STATE": "\(report.state.rawValue)"]
        switch report.state {
        case .up:
            let models = report.models.map { model in model.maxModelLen.map { "\(model.id) (max_model_len \($0))" } ?? model.id }
            logger.notice("backend \(report.name) is up (was \(from.rawValue)); serves \(models.joined(separator: ", "))", metadata: metadata)
        case .down:
            logger.warning("backend \(report.name) is down (was \(from.rawValue)): \(report.lastError ?? "unknown error")", metadata: metadata)
        case .unknown:
            break
        }
        announcement.handler?(report, from)
    }

    // MARK: Warming

    private func makeWarmup(key: String, id: Int, round: Int) -> Task<Void, Never> {
        Task { [weak self] in await self?.warm(key: key, id: id, round: round) }
    }

    private func warm(key: String, id: Int, round: Int) async {
        guard let (backend, served, settings) = state.withLockedValue({ state in
            state.entries[key].flatMap { $0.id == id ? ($0.backend, $0.record.models, state.settings) : nil }
        }) else { return }
        let models = WarmupPinger.models(for: backend, served: served)
        let outcome = models.isEmpty ? nil : await WarmupPinger.warm(models, on: backend, settings: settings, transport: transport)
        let becameWarm = state.withLockedValue { state -> Bool in
            guard var entry = state.entries[key], entry.id == id, entry.warmupRound == round else { return false }
            defer { state.entries[key] = entry }
            entry.warming = false
            entry.warmup = nil
            guard let outcome else { return false }
            state.counters.warmupsDone += outcome.warmed.count
            state.counters.warmupFailures += outcome.failures.count
            let wasWarm = entry.record.warm
            entry.record.warm = outcome.succeeded && entry.record.state != .down
            if outcome.succeeded { entry.record.lastWarmupLatencyMs = outcome.latencyMs }
            return entry.record.warm && !wasWarm
        }
        guard let outcome else { return }
        let wholeMs = Int(outcome.latencyMs)
        let metadata: Logger.Metadata = ["BACKEND": "\(backend.name)", "WARMUP_MS": "\(wholeMs)"]
        if !outcome.failures.isEmpty {
            let reasons = outcome.failures.map { "\($0.model): \($0.error)" }.joined(separator: "; ")
            logger.warning("warmup of backend \(backend.name) failed: \(reasons)", metadata: metadata)
        } else if becameWarm {
            logger.info("backend \(backend.name) warm: \(outcome.warmed.joined(separator: ", ")) in \(wholeMs) ms", metadata: metadata)
        } else {
            logger.debug("backend \(backend.name) kept warm in \(wholeMs) ms", metadata: metadata)
        }
    }
}
