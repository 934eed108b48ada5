// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import FoundationEssentials

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
    /// The ``StableHash`` of what names the deployment the same way in every bridge and across
    /// reloads (``DeploymentSelection/identity(of:)``): what session affinity ranks.
    var identity: UInt64 = 0
    /// Requests waiting in the backend's own queue (vLLM's `num_requests_waiting`); nil when unknown.
    var waiting: Int? = nil
    /// Requests the backend itself reported running or waiting (vLLM's `/metrics`, every client's) at
    /// its last health round; nil when unknown.
    var backendQueued: Int? = nil
}

/// No deployment of an alias can take the request: every backend is drained. Answered 529
/// `overloaded_error` at once, without trying to connect.
struct BackendsUnavailable: Error, Sendable, Equatable {
    let message: String
}

/// The choice among the deployments of a pool, for one strategy. Pure: inputs in (each deployment's
/// availability, load and identity, the session key, the alias's turn), a ``Decision`` out.
///
/// Healthy deployments first, suspect ones when no healthy one is left, down ones when nothing else
/// is (panic mode: a backend marked down may have come back since its last check, and trying it
/// costs a refused connection at worst); drained never. Among those, the strategy picks.
struct DeploymentSelection: Sendable, Equatable {
    /// How the deployment was picked, as the request log names it (`route=affinity`).
    enum Route: String, Sendable, Equatable {
        /// The pool had one usable deployment: nothing to choose (not logged).
        case only
        /// The session's first deployment in rendezvous order.
        case affinity
        /// A later deployment of the session's order: the ones before were over the load bound or
        /// had too many requests waiting.
        case spilled
        /// Every deployment had too many requests waiting: the session's first one within the load bound.
        case saturated
        /// The fewest requests in flight (no session key, or the `least-busy` strategy).
        case leastBusy = "least-busy"
        /// The alias's next deployment in turn.
        case roundRobin = "round-robin"
    }

    /// The deployment picked and how.
    struct Decision: Sendable, Equatable {
        /// Its index among the candidates.
        var index: Int
        var route: Route
    }

    var strategy: RoutingStrategy
    /// ε of the load bound: a deployment takes a session's request while its requests in flight,
    /// this one included, stay within ⌈(1+ε)·average⌉.
    var loadFactor: Double
    /// A deployment with more requests waiting than this is passed over while another is not.
    var maxWaiting: Int

    /// The selection of the strategy `settings` give `alias`.
    init(alias: String, settings: RoutingSettings) {
        self.init(strategy: settings.strategy(forAlias: alias), loadFactor: settings.affinityLoadFactor, maxWaiting: settings.affinityMaxWaiting)
    }

    init(strategy: RoutingStrategy, loadFactor: Double = 0.25, maxWaiting: Int = 4) {
        self.strategy = strategy
        self.loadFactor = loadFactor
        self.maxWaiting = maxWaiting
    }

    /// The deployment to use, or nil when none is available (every one drained). `key` is asked for
    /// only when session affinity has more than one deployment to choose from; without one, the
    /// request goes to the least busy. `turn` counts the alias's requests (round-robin, and ties).
    func choose(_ candidates: [DeploymentCandidate], turn: Int, key: () -> SessionKey?) -> Decision? {
        let pool = Self.usable(candidates)
        guard let first = pool.first else { return nil }
        if pool.count == 1 { return Decision(index: first, route: .only) }
        switch strategy {
        case .roundRobin:
            return Decision(index: pool[Self.position(turn, in: pool.count)], route: .roundRobin)
        case .leastBusy:
            return Decision(index: Self.leastBusy(pool, candidates, turn: turn), route: .leastBusy)
        case .sessionAffinity:
            guard let key = key() else { return Decision(index: Self.leastBusy(pool, candidates, turn: turn), route: .leastBusy) }
            return affinity(pool, candidates, key: key)
        }
    }

    /// Consistent hashing with bounded loads over rendezvous hashing: the pool ranked by the weight of
    /// (key, identity), highest first; the first deployment within the load bound whose backend queue
    /// is short enough; else the first within the load bound (there always is one: not every
    /// deployment can be above the average).
    private func affinity(_ pool: [Int], _ candidates: [DeploymentCandidate], key: SessionKey) -> Decision {
        let ranked = pool.sorted { Self.weight(key, candidates[$0].identity) > Self.weight(key, candidates[$1].identity) }
        let bound = loadBound(pool.reduce(0) { $0 + candidates[$1].inFlight }, deployments: pool.count)
        let withinBound = ranked.filter { candidates[$0].inFlight < bound }
        if let rank = withinBound.firstIndex(where: { (candidates[$0].waiting ?? 0) <= maxWaiting }) {
            return Decision(index: withinBound[rank], route: withinBound[rank] == ranked[0] ? .affinity : .spilled)
        }
        return Decision(index: withinBound.first ?? ranked[0], route: .saturated)
    }

    /// ⌈(1+ε)·(inFlight+1)/deployments⌉: the requests in flight a deployment may hold with the new one.
    /// At least 1, and never beyond `Int` (in flight counts are the bridge's own, ε at most 100).
    func loadBound(_ inFlight: Int, deployments: Int) -> Int {
        let average = (Double(inFlight) + 1) / Double(max(deployments, 1))
        let bound = ((1 + loadFactor) * average).rounded(.up)
        return bound >= Double(Int.max) ? Int.max : max(1, Int(bound))
    }

    /// The rendezvous weight of a deployment for a session: highest wins.
    static func weight(_ key: SessionKey, _ identity: UInt64) -> UInt64 {
        StableHash.mix(key.hash ^ StableHash.mix(identity))
    }

    /// What names a deployment for session affinity: its `api_base` and model, so that every bridge
    /// in front of the same GPUs ranks them the same, and a reload that keeps them keeps its sessions.
    static func identity(of deployment: Deployment) -> UInt64 {
        var hash = StableHash()
        hash.combine(deployment.apiBase.absoluteString)
        hash.combine(deployment.model)
        return hash.value
    }

    /// The indices of the candidates routing may use: the healthy ones, else the suspect, else the down.
    private static func usable(_ candidates: [DeploymentCandidate]) -> [Int] {
        func with(_ accepts: (DeploymentAvailability) -> Bool) -> [Int] { candidates.indices.filter { accepts(candidates[$0].availability) } }
        var pool = with { $0 == .healthy }
        if pool.isEmpty { pool = with { $0 == .suspect } }
        if pool.isEmpty { pool = with { if case .down = $0 { true } else { false } } }
        return pool
    }

    /// Least-busy: the lowest ``busyness(_:)`` of `pool` (not empty); ties taken in turn, which is plain
    /// round-robin when the pool is idle.
    private static func leastBusy(_ pool: [Int], _ candidates: [DeploymentCandidate], turn: Int) -> Int {
        guard let least = pool.map({ busyness(candidates[$0]) }).min() else { return pool[0] }
        let tied = pool.filter { busyness(candidates[$0]) == least }
        return tied[position(turn, in: tied.count)]
    }

    private static func position(_ turn: Int, in count: Int) -> Int {
        Int(UInt(bitPattern: turn) % UInt(count))
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
