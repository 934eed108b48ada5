// SPDX-License-Identifier: Apache-2.0
/// Reads `spark_bridge.routing` and LiteLLM's `router_settings.routing_strategy` into ``RoutingSettings``.
///
/// ```yaml
/// spark_bridge:
///   routing:
///     strategy: session-affinity        # or least-busy, round-robin
///     affinity_load_factor: 0.25
///     affinity_max_waiting: 4
///     aliases:
///       claude-haiku-*: round-robin
/// ```
enum RoutingSection {
    /// `spark_bridge.routing`; key paths in messages are `routing.…`.
    static func read(_ node: YAMLNode, into routing: inout RoutingSettings, context: ConfigReadContext) {
        guard var section = context.mapping(node, path: "routing") else { return }
        defer { section.warnAboutUnread(BridgeSettingsSection.unknownNote) }
        section.read("strategy", into: &routing.strategy) { strategy($0, $1, context: context) }
        section.read("affinity_load_factor", into: &routing.affinityLoadFactor) { node, path in
            guard let value = node.scalar?.numberValue, value >= 0, value <= RoutingSettings.maximumLoadFactor else {
                context.fail(at: node.location, "\(path): expected a number from 0 to \(Int(RoutingSettings.maximumLoadFactor)), got \(node.summaryWhereTypeMatters)")
                return nil
            }
            return value
        }
        section.read("affinity_max_waiting", into: &routing.affinityMaxWaiting) { context.integer($0, $1, minimum: 0) }
        if let node = section.take("aliases"), var aliases = context.mapping(node, path: section.path("aliases")) {
            for name in aliases.keys {
                if let strategy = aliases.take(name, { strategy($0, $1, context: context) }) { routing.aliases[name] = strategy }
            }
        }
    }

    /// LiteLLM's `router_settings`: `routing_strategy` is mapped to the closest strategy, with a
    /// warning where it is not the same thing; `num_retries`, `fallbacks` and `context_window_fallbacks`
    /// go to ``FallbackSection``; its other keys (`allowed_fails`, `cooldown_time`, …) are ignored.
    static func readLiteLLM(_ node: YAMLNode, into settings: inout BridgeSettings, context: ConfigReadContext) {
        guard var section = context.mapping(node, path: "router_settings") else { return }
        defer { section.warnAboutUnread(ModelListSection.ignoredNote) }
        FallbackSection.read(&section, into: &settings.fallback, context: context)
        guard let node = section.take("routing_strategy"), let name = context.string(node, section.path("routing_strategy")) else { return }
        let path = section.path("routing_strategy")
        switch liteLLMStrategy(name) {
        case .same(let strategy):
            settings.routing.strategy = strategy
        case .closest(let strategy, let why):
            settings.routing.strategy = strategy
            context.warn(at: node.location, "\(path): \(name) is not supported; routing with \(strategy.rawValue) instead (\(why))")
        case .unsupported(let why):
            context.warn(at: node.location, "\(path): \(name) is not supported (\(why)); ignored")
        }
    }

    /// What a LiteLLM `routing_strategy` value loads as.
    enum LiteLLMStrategy: Equatable {
        /// The bridge does the same.
        case same(RoutingStrategy)
        /// The bridge does something close.
        case closest(RoutingStrategy, why: String)
        /// Nothing close: the default stays.
        case unsupported(why: String)
    }

    /// The bridge's strategy for LiteLLM's `routing_strategy` value `name` (the bridge's own names load too).
    static func liteLLMStrategy(_ name: String) -> LiteLLMStrategy {
        switch name {
        case "simple-shuffle":
            // An even spread without state; shuffle's per-deployment weights are not read.
            return .same(.roundRobin)
        case "least-busy":
            return .same(.leastBusy)
        case "latency-based-routing":
            return .closest(.leastBusy, why: "no latencies are kept; the deployment with the fewest requests in flight answers soonest")
        case "usage-based-routing", "usage-based-routing-v2":
            return .closest(.leastBusy, why: "no tokens-per-minute or requests-per-minute limits are kept")
        case "cost-based-routing":
            return .unsupported(why: "no prices are known for self-hosted deployments")
        default:
            if let own = RoutingStrategy(rawValue: name) { return .same(own) }
            return .unsupported(why: "unknown strategy; LiteLLM's are simple-shuffle, least-busy, latency-based-routing, usage-based-routing(-v2), cost-based-routing")
        }
    }

    private static func strategy(_ node: YAMLNode, _ path: String, context: ConfigReadContext) -> RoutingStrategy? {
        guard let text = context.string(node, path) else { return nil }
        guard let strategy = RoutingStrategy(rawValue: text) else {
            let names = RoutingStrategy.allCases.map(\.rawValue).joined(separator: ", ")
            context.fail(at: node.location, "\(path): expected one of \(names), got \(node.summary)")
            return nil
        }
        return strategy
    }
}
