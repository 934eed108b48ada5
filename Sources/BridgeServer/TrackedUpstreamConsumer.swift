// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import NIOConcurrencyHelpers

/// One user request counted in flight on its deployment: counted when made, uncounted exactly once —
/// when its upstream call completes, or at the latest when it is released.
final class InFlightTicket: Sendable {
    /// How the upstream call ended, for the health monitor.
    enum Outcome: Sendable, Equatable {
        case succeeded
        /// A transport error (refused, timed out, reset): counts toward down.
        case failed(String)
        /// The backend answered with a 5xx: it is alive, so this does not count toward down, but it is
        /// avoided while another deployment is healthy.
        case answeredWithError(String)
        /// Cancelled (client gone, shutdown): says nothing about the backend.
        case abandoned
    }

    private let deployment: Deployment
    private let router: DeploymentRouter
    private let health: HealthMonitor
    private let ended = NIOLockedValueBox(false)

    init(deployment: Deployment, router: DeploymentRouter, health: HealthMonitor) {
        self.deployment = deployment
        self.router = router
        self.health = health
        router.begin(deployment)
    }

    deinit {
        end(.abandoned)
    }

    /// Uncounts the request and tells the monitor how it went. Only the first call has an effect.
    func end(_ outcome: Outcome) {
        let first = ended.withLockedValue { ended in
            defer { ended = true }
            return !ended
        }
        guard first else { return }
        router.end(deployment)
        switch outcome {
        case .succeeded: health.requestFinished(apiBase: deployment.apiBase, failure: nil)
        case .failed(let reason): health.requestFinished(apiBase: deployment.apiBase, failure: reason)
        case .answeredWithError(let reason): health.requestFinished(apiBase: deployment.apiBase, failure: reason, countsTowardDown: false)
        case .abandoned: break
        }
    }
}

/// Sits between an upstream call and the exchange consuming it: notes the status and ends the
/// request's ``InFlightTicket`` when the call completes (which the transport guarantees exactly once),
/// before the exchange hears of it — so every exchange path, retries included, is counted right.
final class TrackedUpstreamConsumer: UpstreamConsumer {
    private let inner: any UpstreamConsumer
    private let ticket: InFlightTicket
    private var status: Int?

    init(_ inner: any UpstreamConsumer, ticket: InFlightTicket) {
        self.inner = inner
        self.ticket = ticket
    }

    func upstreamHead(status: Int, headers: [(String, String)]) {
        self.status = status
        inner.upstreamHead(status: status, headers: headers)
    }

    func upstreamBody(_ bytes: [UInt8]) {
        inner.upstreamBody(bytes)
    }

    func upstreamCompleted(_ result: Result<Void, UpstreamError>) {
        ticket.end(Self.outcome(result, status: status))
        inner.upstreamCompleted(result)
    }

    func upstreamDeliveryEnded() {
        inner.upstreamDeliveryEnded()
    }

    static func outcome(_ result: Result<Void, UpstreamError>, status: Int?) -> InFlightTicket.Outcome {
        switch result {
        case .failure(.cancelled), .failure(.consumerStalled): .abandoned
        case .failure(let error): .failed(error.description)
        case .success: if let status, status >= 500 { .answeredWithError("HTTP \(status)") } else { .succeeded }
        }
    }
}
