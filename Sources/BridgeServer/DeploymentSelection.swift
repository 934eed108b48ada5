// SPDX-License-Identifier: Apache-2.0
/// Whether routing may send a new request to a deployment's backend.
enum DeploymentAvailability: Sendable, Hashable {
    /// Up, or not known yet: routed to.
    case healthy
    /// A request failed on it since its last successful check: used only when no healthy one is left.
    case suspect
    /// Marked down by the health monitor: used only when every deployment of the pool that is not
    /// drained is down (panic mode, as Envoy's): health may be stale, and a refused connection fails fast.
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

/// No deployment of an alias can take the request: every backend is drained. Answered 529
/// `overloaded_error` at once, without trying to connect.
struct BackendsUnavailable: Error, Sendable, Equatable {
    let message: String
}

/// The choice among the deployments of a pool. Pure: the router feeds it the availability and
/// requests in flight of each deployment and a per-alias turn counter.
enum DeploymentSelection {
    /// The index of the deployment to use, or nil when none is available.
    ///
    /// Healthy deployments first, suspect ones when no healthy one is left, down ones when nothing
    /// else is (panic mode: a backend marked down may have come back since its last check, and trying
    /// it costs a refused connection at worst); drained never. Among those, the fewest requests in
    /// flight; ties are taken in turn (`turn` counts the alias's requests), which is plain round-robin
    /// when the pool is idle.
    static func choose(_ candidates: [DeploymentCandidate], turn: Int) -> Int? {
        func with(_ accepts: (DeploymentAvailability) -> Bool) -> [Int] { candidates.indices.filter { accepts(candidates[$0].availability) } }
        var pool = with { $0 == .healthy }
        if pool.isEmpty { pool = with { $0 == .suspect } }
        if pool.isEmpty { pool = with { if case .down = $0 { true } else { false } } }
        guard let least = pool.map({ candidates[$0].inFlight }).min() else { return nil }
        let tied = pool.filter { candidates[$0].inFlight == least }
        return tied[Int(UInt(bitPattern: turn) % UInt(tied.count))]
    }

    /// Why no deployment of `alias` is available (every one is drained), naming each backend once:
    /// `all backends for alias X are drained: a, b`.
    static func unavailableMessage(alias: String, _ candidates: [DeploymentCandidate]) -> String {
        var seen = Set<String>()
        let names = candidates.map(\.backendName).filter { seen.insert($0).inserted }
        return "all backends for alias \(alias) are drained: " + names.joined(separator: ", ")
    }
}
