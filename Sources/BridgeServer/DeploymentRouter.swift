// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import ControlProtocol
import FoundationEssentials
import NIOConcurrencyHelpers

/// The routing state shared by every request: requests in flight per deployment, the per-alias turn
/// counter, and the backends the control plane drained. The choice itself is ``DeploymentSelection``.
final class DeploymentRouter: Sendable {
    /// A deployment: one model on one backend.
    private struct Key: Hashable {
        var apiBase: String
        var model: String
        var backendName: String

        init(_ deployment: Deployment) {
            apiBase = deployment.apiBase.absoluteString
            model = deployment.model
            backendName = deployment.backendName
        }
    }

    private struct State {
        var inFlight: [Key: Int] = [:]
        var turns: [String: Int] = [:]
        var drained: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())
    /// Waits for a backend's last request to end (a drain of that backend).
    private let idle = IdleWaiters()

    /// The deployment of `alias` a new request should use and how it was picked (see
    /// ``DeploymentSelection``), or why there is none. `key` is the request's session, asked for only
    /// when session affinity has a choice to make.
    func choose(
        alias: String, from deployments: [Deployment], selection: DeploymentSelection, health: HealthMonitor, key: () -> SessionKey?
    ) -> Result<RoutedDeployment, BackendsUnavailable> {
        // Read health before taking the router's lock: the two locks are never nested.
        let availability = deployments.map { health.availability(of: $0.apiBase) }
        let loads = deployments.map { health.load(of: $0.apiBase) }
        let identities = selection.strategy == .sessionAffinity && deployments.count > 1
            ? deployments.map(DeploymentSelection.identity(of:))
            : nil
        let (candidates, turn) = state.withLockedValue { state in
            let candidates = deployments.indices.map { index in
                let deployment = deployments[index]
                return DeploymentCandidate(
                    backendName: deployment.backendName,
                    availability: state.drained.contains(deployment.backendName) ? .drained : availability[index],
                    inFlight: state.inFlight[Key(deployment), default: 0],
                    identity: identities?[index] ?? 0,
                    waiting: loads[index]?.waiting,
                    backendQueued: loads[index]?.queued
                )
            }
            let turn = state.turns[alias, default: 0]
            state.turns[alias] = turn &+ 1
            return (candidates, turn)
        }
        // Chosen outside the lock: the session key may hash a long prompt.
        guard let decision = selection.choose(candidates, turn: turn, key: key) else {
            return .failure(BackendsUnavailable(message: DeploymentSelection.unavailableMessage(alias: alias, candidates)))
        }
        return .success(RoutedDeployment(deployment: deployments[decision.index], route: decision.route))
    }

    /// A user request to `deployment` started.
    func begin(_ deployment: Deployment) {
        state.withLockedValue { $0.inFlight[Key(deployment), default: 0] += 1 }
    }

    /// A user request to `deployment` ended (exactly once per ``begin(_:)``).
    func end(_ deployment: Deployment) {
        let deploymentIdle = state.withLockedValue { state in
            let key = Key(deployment)
            let count = state.inFlight[key, default: 0] - 1
            state.inFlight[key] = count > 0 ? count : nil
            return count <= 0
        }
        // Its backend may have no request left: a drain waiting for it checks.
        if deploymentIdle, idle.count > 0 { idle.wake() }
    }

    /// Waits until no user request is in flight on the backend called `backendName` or `deadline`
    /// passes; returns how many were still running. Woken by the end of a request, not by polling.
    func waitUntilIdle(backendName: String, deadline: ContinuousClock.Instant) async -> Int {
        await idle.wait(until: deadline) { [self] in inFlight(backendName: backendName) == 0 }
        return inFlight(backendName: backendName)
    }

    /// User requests in flight on `deployment`.
    func inFlight(_ deployment: Deployment) -> Int {
        state.withLockedValue { $0.inFlight[Key(deployment), default: 0] }
    }

    /// User requests in flight on the backend called `backendName`, all its models together.
    func inFlight(backendName: String) -> Int {
        state.withLockedValue { state in
            state.inFlight.reduce(0) { $0 + ($1.key.backendName == backendName ? $1.value : 0) }
        }
    }

    /// Excludes a backend from routing; false when it already was.
    func drain(_ backendName: String) -> Bool {
        state.withLockedValue { $0.drained.insert(backendName).inserted }
    }

    /// Routes to a drained backend again; false when it was not drained.
    func resume(_ backendName: String) -> Bool {
        state.withLockedValue { $0.drained.remove(backendName) != nil }
    }

    /// The drained backends' names.
    var drained: Set<String> { state.withLockedValue { $0.drained } }
}

/// The deployment a request goes to, and how it was picked.
struct RoutedDeployment: Sendable {
    var deployment: Deployment
    var route: DeploymentSelection.Route
}

extension AliasTable {
    /// Every deployment whose backend model id is `model`, each (backend, model) once: the pool of an
    /// OpenAI client that names a backend model directly instead of an alias.
    func deployments(servingBackendModel model: String) -> [Deployment] {
        var seen = Set<String>()
        return allAliases.flatMap(\.deployments).filter { $0.model == model && seen.insert($0.apiBase.absoluteString).inserted }
    }
}
