// SPDX-License-Identifier: Apache-2.0
/// How an alias with several deployments spreads its requests over them.
public enum RoutingStrategy: String, Sendable, Equatable, CaseIterable {
    /// Every turn of a conversation to the same deployment, where its prompt prefix is still in the
    /// KV cache: deployments ranked by rendezvous hashing of the session key, the first one within
    /// the load bound taken. The default.
    case sessionAffinity = "session-affinity"
    /// The deployment with the fewest requests in flight (the bridge's behaviour before session affinity).
    case leastBusy = "least-busy"
    /// Each deployment in turn.
    case roundRobin = "round-robin"
}

/// `spark_bridge.routing` (and LiteLLM's `router_settings.routing_strategy`): the strategy of each
/// alias and the bounds of session affinity.
public struct RoutingSettings: Sendable, Equatable {
    /// `strategy`: the strategy of every alias not named in `aliases`.
    public var strategy: RoutingStrategy = .sessionAffinity
    /// `aliases`: a strategy for some aliases, by `model_name` as written.
    public var aliases: [String: RoutingStrategy] = [:]
    /// `affinity_load_factor` (ε): a deployment takes a session's request only while its requests in
    /// flight, this one included, stay within ⌈(1+ε)·average⌉ over the alias's usable deployments;
    /// else the request spills to the session's next deployment.
    public var affinityLoadFactor: Double = 0.25
    /// `affinity_max_waiting`: a deployment whose vLLM reports more requests waiting than this is
    /// passed over, as long as another is not.
    public var affinityMaxWaiting = 4

    /// Largest `affinity_load_factor` accepted: beyond it the bound never spills anything.
    public static let maximumLoadFactor: Double = 100

    /// Every setting at its documented default.
    public init() {}

    /// The strategy of the alias whose `model_name` is `alias`.
    public func strategy(forAlias alias: String) -> RoutingStrategy {
        aliases[alias] ?? strategy
    }
}
