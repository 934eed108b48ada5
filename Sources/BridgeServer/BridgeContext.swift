// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import BridgeUpstream
import Logging
import NIOConcurrencyHelpers

/// What every request handler shares: the current configuration snapshot, the upstream transport,
/// the health monitor, deployment choice and the logger.
///
/// A reload swaps the snapshot atomically; a request reads it once at its start and keeps that
/// snapshot to the end, so requests in flight finish on the configuration they started with.
public final class BridgeContext: Sendable {
    private let snapshot: NIOLockedValueBox<BridgeConfiguration>
    private let drainingFlag = NIOLockedValueBox(false)
    let router = DeploymentRouter()
    public let transport: UpstreamTransport
    /// Hands upstream responses to the event loops once per round of the curl thread (the transport's
    /// round listener).
    let deliveries = LoopDeliveries()
    public let logger: Logger
    public let metrics: BridgeMetrics
    public let tracker = RequestTracker()
    /// Client connections open, against `limits.max_connections`.
    public let connections = ClientConnections()
    /// Prompt sizes the backends reported, to estimate the next request's (``OutputBudget``).
    let promptSizes = PromptSizeCalibration()
    /// When a request for an unknown model is logged as a warning.
    let unknownModels = UnknownModelWarnings()
    /// Live traffic per alias and backend, for `sparkctl top`.
    public let activity = ActivityBoard()
    /// Request events, for `sparkctl trace`.
    public let trace = TraceHub()
    /// Checks and warms the backends; made here, started and stopped by the owner (`health.start()`).
    public let health: HealthMonitor

    public init(configuration: BridgeConfiguration, transport: UpstreamTransport, logger: Logger, metrics: BridgeMetrics = BridgeMetrics()) {
        snapshot = NIOLockedValueBox(configuration)
        self.transport = transport
        transport.setRoundListener(deliveries)
        self.logger = logger
        self.metrics = metrics
        health = HealthMonitor(configuration: configuration, transport: transport, logger: logger)
    }

    /// Where each request reports live (`RequestRecord(observers:)`).
    var requestObservers: RequestObservers { RequestObservers(activity: activity, trace: trace) }

    /// While draining, new API requests get 529 `overloaded_error` with `x-should-retry: true`.
    public var isDraining: Bool {
        get { drainingFlag.withLockedValue { $0 } }
        set { drainingFlag.withLockedValue { $0 = newValue } }
    }

    /// The configuration new requests use.
    public var configuration: BridgeConfiguration { snapshot.withLockedValue { $0 } }

    /// Replaces the configuration for requests that start from now on; the health monitor follows
    /// the new backend set.
    public func replaceConfiguration(_ configuration: BridgeConfiguration) {
        snapshot.withLockedValue { $0 = configuration }
        health.update(configuration: configuration)
    }

    /// The deployment of a pool a new request should use, by the alias's strategy in `configuration`
    /// (``DeploymentSelection``): session affinity by `key` (asked for only when there is a choice),
    /// least-busy or round-robin among backends neither down nor drained (suspect ones last, down
    /// ones when nothing else is left) — or why none can take it.
    func pickDeployment(
        alias: String, from deployments: [Deployment], configuration: BridgeConfiguration, key: () -> SessionKey?
    ) -> Result<RoutedDeployment, BackendsUnavailable> {
        let selection = DeploymentSelection(alias: alias, settings: configuration.settings.routing)
        return router.choose(alias: alias, from: deployments, selection: selection, health: health, key: key)
    }
}
