// SPDX-License-Identifier: Apache-2.0
/// Whether routing may send a new request to a deployment's backend.
enum DeploymentAvailability: Sendable, Hashable {
    /// Up, or not known yet: routed to.
    case healthy
    /// A request failed on it since its last successful check: used only when no healthy one is left.
    case suspect
    /// Marked down by the health monitor: never routed to.
    case down(reason: String?)
    /// Drained by the control plane: never routed to.
    case drained
}

/// One deployment of a pool as the choice sees it.
struct DeploymentCandidate: Sendable, Hashable {
    var backendName: String
    var availability: DeploymentAvailability
    /// User requests on this deployment started and not completed.
    var inFlight: Int
}

/// No deployment of an alias can take the request: every backend is down or drained. Answered
/// 529 `overloaded_error` at once, without trying to connect.
struct BackendsUnavailable: Error, Sendable, Equatable {
    let message: String
}

/// The choice among the deployments of a pool. Pure: the router feeds it the availability and
/// requests in flight of each deployment and a per-alias turn counter.
enum DeploymentSelection {
    /// The index of the deployment to use, or nil when none is available.
    ///
    /// Healthy deployments first (suspect ones only when no healthy one is left; down and drained
    /// never); among those, the fewest requests in flight; ties are taken in turn (`turn` counts the
    /// alias's requests), which is plain round-robin when the pool is idle.
    static func choose(_ candidates: [DeploymentCandidate], turn: Int) -> Int? {
        let healthy = candidates.indices.filter { candidates[$0].availability == .healthy }
        let pool = healthy.isEmpty ? candidates.indices.filter { candidates[$0].availability == .suspect } : healthy
        guard let least = pool.map({ candidates[$0].inFlight }).min() else { return nil }
        let tied = pool.filter { candidates[$0].inFlight == least }
        return tied[Int(UInt(bitPattern: turn) % UInt(tied.count))]
    }

    /// Why no deployment of `alias` is available, naming each backend once:
    /// `all backends for alias X are down: a (reason), b (drained)`, or `… are drained: a, b`.
    static func unavailableMessage(alias: String, _ candidates: [DeploymentCandidate]) -> String {
        var seen = Set<String>()
        let distinct = candidates.filter { seen.insert($0.backendName).inserted }
        if distinct.allSatisfy({ $0.availability == .drained }) {
            return "all backends for alias \(alias) are drained: " + distinct.map(\.backendName).joined(separator: ", ")
        }
        let parts = distinct.map { candidate -> String in
            switch candidate.availability {
            case .down(let reason?): "\(candidate.backendName) (\(reason))"
            case .down(nil): candidate.backendName
            case .drained: "\(candidate.backendName) (drained)"
            case .healthy, .suspect: "\(candidate.backendName) (available)"
            }
        }
        return "all backends for alias \(alias) are down: " + parts.joined(separator: ", ")
    }
}
