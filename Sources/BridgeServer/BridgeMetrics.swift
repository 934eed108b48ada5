// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The bridge's Prometheus metrics, through swift-metrics with a registry of its own (so several
/// bridges in one test process do not share counters). Served at `GET /metrics`.
public final class BridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requestsInFlight: Metrics.Gauge
    private let streamsInFlight: Metrics.Gauge
    private let connectionsOpen: Metrics.Gauge
    private let lastHealthCounters = NIOLockedValueBox(HealthCounters())
    /// Metric handles of finished requests by alias and by (route, alias, status): made once, not per
    /// request (a registry lookup per metric per request showed in profiles). The keys are closed sets:
    /// routes are `Route`'s, aliases come from the configuration (unknown model names are labelled `-`),
    /// statuses are `StatusLabel`'s.
    private let requestHandles = NIOLockedValueBox(RequestHandles())

    private struct AliasHandles: Sendable {
        let duration: Metrics.Timer
        let timeToFirstToken: Metrics.Timer
        let inputTokens: Metrics.Counter
        let outputTokens: Metrics.Counter
    }

    /// The labels of `spark_bridge_requests_total`, hashed as they are (no key string built per request).
    private struct RequestKey: Hashable, Sendable {
        let route: Route
        let alias: String
        let status: String
    }

    private struct RequestHandles: Sendable {
        var byAlias: [String: AliasHandles] = [:]
        var requests: [RequestKey: Metrics.Counter] = [:]
        /// Made on an alias's first upstream call, so an alias that never called a backend shows none.
        var upstreamCalls: [String: Metrics.Counter] = [:]
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300].map { .milliseconds(Int64($0 * 1000)) }
        factory.durationHistogramBuckets = [
            "spark_bridge_time_to_first_token_seconds": latencyBuckets,
            "spark_bridge_request_duration_seconds": latencyBuckets,
        ]
        self.factory = factory
        requestsInFlight = Metrics.Gauge(label: "spark_bridge_requests_in_flight", dimensions: [], factory: factory)
        streamsInFlight = Metrics.Gauge(label: "spark_bridge_streams_in_flight", dimensions: [], factory: factory)
        connectionsOpen = Metrics.Gauge(label: "spark_bridge_client_connections", dimensions: [], factory: factory)
    }

    /// A finished client request: counts, latencies and tokens by alias (`nil`: the model named no alias).
    func recordRequest(route: Route, alias: String?, status: Int, timeToFirstToken: Duration?, duration: Duration, inputTokens: Int?, outputTokens: Int?) {
        let alias = alias ?? "-"
        let (handles, requests) = requestHandles.withLockedValue { cache in
            let handles = cache.byAlias[alias] ?? {
                let made = AliasHandles(
                    duration: Metrics.Timer(label: "spark_bridge_request_duration_seconds", dimensions: [("alias", alias)], factory: factory),
                    timeToFirstToken: Metrics.Timer(label: "spark_bridge_time_to_first_token_seconds", dimensions: [("alias", alias)], factory: factory),
                    inputTokens: Metrics.Counter(label: "spark_bridge_input_tokens_total", dimensions: [("alias", alias)], factory: factory),
                    outputTokens: Metrics.Counter(label: "spark_bridge_output_tokens_total", dimensions: [("alias", alias)], factory: factory)
                )
                cache.byAlias[alias] = made
                return made
            }()
            let status = StatusLabel.of(status)
            let key = RequestKey(route: route, alias: alias, status: status)
            let requests = cache.requests[key] ?? {
                let made = Metrics.Counter(label: "spark_bridge_requests_total", dimensions: [("path", route.metricsLabel), ("alias", alias), ("status", status)], factory: factory)
                cache.requests[key] = made
                return made
            }()
            return (handles, requests)
        }
        requests.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
        if let timeToFirstToken {
            handles.timeToFirstToken.recordNanoseconds(timeToFirstToken.nanoseconds)
        }
        if let inputTokens, inputTokens > 0 {
            handles.inputTokens.increment(by: inputTokens)
        }
        if let outputTokens, outputTokens > 0 {
            handles.outputTokens.increment(by: outputTokens)
        }
    }

    /// Backend requests made for one client request (`spark_bridge_upstream_calls_total` over
    /// `spark_bridge_requests_total` is the calls per request: 1 when no first call is refused).
    func recordUpstreamCalls(_ count: Int, alias: String?) {
        let alias = alias ?? "-"
        let counter = requestHandles.withLockedValue { cache in
            cache.upstreamCalls[alias] ?? {
                let made = Metrics.Counter(label: "spark_bridge_upstream_calls_total", dimensions: [("alias", alias)], factory: factory)
                cache.upstreamCalls[alias] = made
                return made
            }()
        }
        counter.increment(by: count)
    }

    /// A backend request that failed below HTTP (refused, timed out, reset) or with an error status.
    func recordUpstreamError(kind: String, backend: String?) {
        Metrics.Counter(label: "spark_bridge_upstream_errors_total", dimensions: [("kind", kind), ("backend", backend ?? "-")], factory: factory).increment()
    }

    /// Why a request moved on to another call (``FallbackChain``): the `kind` label of
    /// `spark_bridge_fallback_hops_total`.
    enum FallbackHopKind: String {
        /// Another call on the same alias (`num_retries`).
        case retry
        /// The alias was exhausted: on to a `fallbacks` alias.
        case fallback
        /// The prompt does not fit: on to a `context_window_fallbacks` alias.
        case contextWindow = "context_window"
    }

    /// A request of `alias` (a configured `model_name`) moved on to another call.
    func recordFallbackHop(kind: FallbackHopKind, alias: String) {
        Metrics.Counter(label: "spark_bridge_fallback_hops_total", dimensions: [("alias", alias), ("kind", kind.rawValue)], factory: factory).increment()
    }

    /// A backend's health state (1 up, 0 down).
    public func recordBackendUp(_ backend: String, up: Bool) {
        Metrics.Gauge(label: "spark_bridge_backend_up", dimensions: [("backend", backend)], factory: factory).record(up ? 1 : 0)
    }

    /// A backend's own load from its `/metrics` (`spark_bridge_backend_requests_running`, `…_waiting`,
    /// `spark_bridge_backend_kv_cache_usage`), NaN while unknown so a stale figure never shows.
    func recordBackendLoad(_ backend: String, _ load: BackendLoad?) {
        func gauge(_ label: String, _ value: Double?) {
            Metrics.Gauge(label: label, dimensions: [("backend", backend)], factory: factory).record(value ?? .nan)
        }
        gauge("spark_bridge_backend_requests_running", load?.running.map(Double.init))
        gauge("spark_bridge_backend_requests_waiting", load?.waiting.map(Double.init))
        gauge("spark_bridge_backend_kv_cache_usage", load?.kvCacheUsage)
    }

    /// Warmups and health checks done so far (cumulative totals from the monitor), applied as counter
    /// increments so the exposed counters stay monotonic.
    func syncHealthCounters(_ counters: HealthCounters) {
        let previous = lastHealthCounters.withLockedValue { last -> HealthCounters in
            defer { last = counters }
            return last
        }
        func add(_ label: String, _ result: String, _ now: Int, _ before: Int) {
            guard now > before else { return }
            Metrics.Counter(label: label, dimensions: [("result", result)], factory: factory).increment(by: now - before)
        }
        add("spark_bridge_warmups_total", "ok", counters.warmupsDone, previous.warmupsDone)
        add("spark_bridge_warmups_total", "failed", counters.warmupFailures, previous.warmupFailures)
        add("spark_bridge_health_checks_total", "ok", counters.checks - counters.checkFailures, previous.checks - previous.checkFailures)
        add("spark_bridge_health_checks_total", "failed", counters.checkFailures, previous.checkFailures)
    }

    /// Client connections open now (those accepted over the limit included).
    func recordConnections(open: Int) {
        connectionsOpen.record(open)
    }

    /// A connection the bridge turned away or cut short, by a reason from a closed set (`ConnectionCut`).
    func recordConnectionCut(_ reason: ConnectionCut) {
        Metrics.Counter(label: "spark_bridge_connections_cut_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    func recordInFlight(requests: Int, streams: Int) {
        requestsInFlight.record(requests)
        streamsInFlight.record(streams)
    }

    /// The Prometheus text exposition, with the backends' health brought up to date first.
    func exposition(health: [BackendHealth], counters: HealthCounters) -> [UInt8] {
        for backend in health {
            recordBackendUp(backend.name, up: backend.state == .up)
            recordBackendLoad(backend.name, backend.load)
        }
        syncHealthCounters(counters)
        return registry.emitToBuffer()
    }
}
