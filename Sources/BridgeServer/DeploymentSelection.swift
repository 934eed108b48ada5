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
    /// Requests the backend itself reported running or waiting (vLLM's `/metrics`, every client's) at
    /// its last health round; nil when unknown.
    var backendQueued: Int? = nil
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
    /// it costs a refused connection at worst); drained never. Among those, the least busy
    /// (``busyness(_:)``); ties are taken in turn (`turn` counts the alias's requests), which is plain
    /// round-robin when the pool is idle.
    static func choose(_ candidates: [DeploymentCandidate], turn: Int) -> Int? {
        func with(_ accepts: (DeploymentAvailability) -> Bool) -> [Int] { candidates.indices.filter { accepts(candidates[$0].availability) } }
        var pool = with { $0 == .healthy }
        if pool.isEmpty { pool = with { $0 == .suspect } }
        if pool.isEmpty { pool = with { if case .down = $0 { true } else { false } } }
        guard let least = pool.map({ busyness(candidates[$0]) }).min(by: <) else { return nil }
        let tied = pool.filter { busyness(candidates[$0]) == least }
        return tied[Int(UInt(bitPattern: turn) % UInt(tied.count))]
    }

    /// How busy a deployment is, least first: the requests its backend holds, then this bridge's own in
    /// flight to break ties. The backend's running + waiting counts every client sharing the GPU but is
    /// up to one health round old; the bridge's in-flight count is current but sees only this bridge; the
    /// larger of the two is taken, and the in-flight count alone when the backend's is unknown.
    static func busyness(_ candidate: DeploymentCandidate) -> Busyness {
        Busyness(requests: max(candidate.backendQueued ?? 0, candidate.inFlight), inFlight: candidate.inFlight)
    }

    /// The ranking key of ``busyness(_:)``: `requests`, then `inFlight`.
    struct Busyness: Comparable, Hashable {
        var requests: Int
        var inFlight: Int

        static func < (lhs: Busyness, rhs: Busyness) -> Bool {
            (lhs.requests, lhs.inFlight) < (rhs.requests, rhs.inFlight)
        }
    }

    /// Why no deployment of `alias` is available (every one is drained), naming each backend once:
    /// `all backends for alias X are drained: a, b`.
    static func unavailableMessage(alias: String, _ candidates: [DeploymentCandidate]) -> String {
        var seen = Set<String>()
        let names = candidates.map(\.backendName).filter { seen.insert($0).inserted }
        return "all backends for alias \(alias) are drained: " + names.joined(separator: ", ")
    }
}
