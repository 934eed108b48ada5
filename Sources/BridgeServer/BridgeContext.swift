import BridgeConfig
import BridgeUpstream
import Logging
import NIOConcurrencyHelpers

/// What every request handler shares: the current configuration snapshot, the upstream transport,
/// deployment choice and the logger.
///
/// A reload swaps the snapshot atomically; a request reads it once at its start and keeps that
/// snapshot to the end, so requests in flight finish on the configuration they started with.
public final class BridgeContext: Sendable {
    private let snapshot: NIOLockedValueBox<BridgeConfiguration>
    private let roundRobin = NIOLockedValueBox<[String: Int]>([:])
    private let drainingFlag = NIOLockedValueBox(false)
    public let transport: UpstreamTransport
    public let logger: Logger
    public let metrics: BridgeMetrics
    public let tracker = RequestTracker()

    public init(configuration: BridgeConfiguration, transport: UpstreamTransport, logger: Logger, metrics: BridgeMetrics = BridgeMetrics()) {
        snapshot = NIOLockedValueBox(configuration)
        self.transport = transport
        self.logger = logger
        self.metrics = metrics
    }

    /// While draining, new API requests get 529 `overloaded_error` with `x-should-retry: true`.
    public var isDraining: Bool {
        get { drainingFlag.withLockedValue { $0 } }
        set { drainingFlag.withLockedValue { $0 = newValue } }
    }

    /// The configuration new requests use.
    public var configuration: BridgeConfiguration { snapshot.withLockedValue { $0 } }

    /// Replaces the configuration for requests that start from now on.
    public func replaceConfiguration(_ configuration: BridgeConfiguration) {
        snapshot.withLockedValue { $0 = configuration }
    }

    /// The next deployment of a pool, round-robin per alias.
    func pickDeployment(alias: String, from deployments: [Deployment]) -> Deployment? {
        guard !deployments.isEmpty else { return nil }
        let turn = roundRobin.withLockedValue { counters -> Int in
            let value = counters[alias, default: 0]
            counters[alias] = value &+ 1
            return value
        }
        return deployments[turn % deployments.count]
    }
}
