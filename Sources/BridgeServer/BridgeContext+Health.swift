// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import ControlProtocol
import Foundation
import Logging
import NIOCore

/// Health-aware routing on the shared context: drained backends, health reports, and upstream calls
/// counted in flight.
extension BridgeContext {
    /// Excludes the backend called `name` (`host:port`, as `Backend.name`) from routing: requests
    /// in flight finish, new ones go elsewhere (or get 529 when nothing else serves their alias). A
    /// drain outlives reloads until ``resumeBackend(_:)``. False when no backend of the current
    /// configuration has that name (nothing changes).
    @discardableResult
    public func drainBackend(_ name: String) -> Bool {
        guard configuration.backend(named: name) != nil else { return false }
        if router.drain(name) { logger.notice("backend \(name) drained: no new requests are routed to it", metadata: ["BACKEND": "\(name)"]) }
        return true
    }

    /// Routes to a drained backend again. False when it was not drained.
    @discardableResult
    public func resumeBackend(_ name: String) -> Bool {
        guard router.resume(name) else { return false }
        logger.notice("backend \(name) resumed", metadata: ["BACKEND": "\(name)"])
        return true
    }

    /// The backends drained by ``drainBackend(_:)``.
    public var drainedBackends: Set<String> { router.drained }

    /// Every backend of the current configuration: health, models, warmth, drained, requests in flight.
    public func healthSnapshot() -> [BackendHealth] {
        let drained = router.drained
        return health.snapshot().map { monitored in
            var backend = monitored
            backend.drained = drained.contains(backend.name)
            backend.inFlight = router.inFlight(backendName: backend.name)
            return backend
        }
    }

    /// The document `GET /health` serves and the control verb `health` answers.
    public func healthReport() -> HealthReport {
        HealthReport(aliases: configuration.aliases.allAliases.count, backends: healthSnapshot())
    }

    /// The backend's own load at `apiBase` (vLLM's `/metrics`: running, waiting, KV cache, prefix-cache
    /// hits) at its last health round; nil when unknown. The backend is one engine, so the figures are
    /// the same for every model it serves.
    public func backendLoad(apiBase: URL) -> BackendLoad? {
        health.load(of: apiBase)
    }

    /// User requests in flight on `deployment` (warmups and checks are not counted).
    func inFlight(_ deployment: Deployment) -> Int {
        router.inFlight(deployment)
    }

    /// Starts a user request to `deployment`, counted in flight until its upstream call completes;
    /// a transport error or 5xx is reported to the health monitor.
    func startUpstream(_ request: UpstreamRequest, to deployment: Deployment, channel: any Channel, consumer: some UpstreamConsumer) -> UpstreamCall {
        let ticket = InFlightTicket(deployment: deployment, router: router, health: health)
        return UpstreamCall.start(request, on: transport, deliveries: deliveries, channel: channel, consumer: TrackedUpstreamConsumer(consumer, ticket: ticket))
    }
}
