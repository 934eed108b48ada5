// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Testing

@Suite("spark_bridge.routing and LiteLLM's router_settings.routing_strategy")
struct RoutingConfigTests {
    /// Two aliases, the first with two deployments.
    private static let pools = """
        model_list:
          - model_name: claude-sonnet-*
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8001/v1"}
          - model_name: claude-sonnet-*
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8002/v1"}
          - model_name: claude-*haiku*
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8001/v1"}

        """

    @Test("without a routing section every alias uses session affinity, ε 0.25, at most 4 waiting")
    func defaults() throws {
        let loaded = try #require(load(Self.pools))
        #expect(loaded.warnings.isEmpty)
        let routing = loaded.configuration.settings.routing
        #expect(routing == RoutingSettings())
        #expect(routing.strategy(forAlias: "claude-sonnet-*") == .sessionAffinity)
        #expect(routing.affinityLoadFactor == 0.25)
        #expect(routing.affinityMaxWaiting == 4)
    }

    @Test("a default strategy, one per alias, ε and the waiting threshold load")
    func section() throws {
        let yaml = Self.pools + """
            spark_bridge:
              routing:
                strategy: least-busy
                affinity_load_factor: 0.5
                affinity_max_waiting: 0
                aliases:
                  "claude-sonnet-*": session-affinity
                  "claude-*haiku*": round-robin

            """
        let loaded = try #require(load(yaml))
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let routing = loaded.configuration.settings.routing
        #expect(routing.strategy(forAlias: "claude-sonnet-*") == .sessionAffinity)
        #expect(routing.strategy(forAlias: "claude-*haiku*") == .roundRobin)
        #expect(routing.strategy(forAlias: "anything-else") == .leastBusy)
        #expect(routing.affinityLoadFactor == 0.5)
        #expect(routing.affinityMaxWaiting == 0)
    }

    @Test("bad values are errors at file:line:column: unknown strategy, ε out of range, negative threshold, an alias no model_name has")
    func errors() throws {
        let yaml = Self.pools + """
            spark_bridge:
              routing:
                strategy: sticky
                affinity_load_factor: -1
                affinity_max_waiting: -2
                aliases:
                  claude-opus-*: least-busy

            """
        let error = try #require(loadError(yaml))
        #expect(error.diagnostics.map(\.description) == [
            "config.yaml:10:15: routing.strategy: expected one of session-affinity, least-busy, round-robin, got \"sticky\"",
            "config.yaml:11:27: routing.affinity_load_factor: expected a number from 0 to 100, got \"-1\"",
            "config.yaml:12:27: routing.affinity_max_waiting: expected an integer of at least 0, got \"-2\"",
            "config.yaml:14:22: routing.aliases.claude-opus-*: no model_name is \"claude-opus-*\"; known aliases: claude-sonnet-*, claude-*haiku*",
        ])
    }

    @Test("LiteLLM's routing_strategy values map to the closest strategy; what differs is a warning at its line and column")
    func liteLLMStrategies() throws {
        let cases: [(String, RoutingStrategy, String?)] = [
            ("simple-shuffle", .roundRobin, nil),
            ("least-busy", .leastBusy, nil),
            ("latency-based-routing", .leastBusy, "latency-based-routing is not supported; routing with least-busy instead (no latencies are kept; the deployment with the fewest requests in flight answers soonest)"),
            ("usage-based-routing", .leastBusy, "usage-based-routing is not supported; routing with least-busy instead (no tokens-per-minute or requests-per-minute limits are kept)"),
            ("usage-based-routing-v2", .leastBusy, "usage-based-routing-v2 is not supported; routing with least-busy instead (no tokens-per-minute or requests-per-minute limits are kept)"),
            ("cost-based-routing", .sessionAffinity, "cost-based-routing is not supported (no prices are known for self-hosted deployments); ignored"),
            ("session-affinity", .sessionAffinity, nil),
        ]
        for (value, strategy, warning) in cases {
            let yaml = Self.pools + "router_settings:\n  routing_strategy: \(value)\n  cooldown_time: 30\n"
            let loaded = try #require(load(yaml))
            #expect(loaded.configuration.settings.routing.strategy == strategy, "\(value)")
            var expected = warning.map { ["config.yaml:9:21: router_settings.routing_strategy: \($0)"] } ?? []
            expected.append("config.yaml:10:3: router_settings.cooldown_time: not used by spark-bridge; ignored")
            #expect(loaded.warnings.map(\.description) == expected)
        }
    }

    @Test("spark_bridge.routing.strategy wins over router_settings.routing_strategy, with a warning saying so")
    func bridgeSettingWins() throws {
        let yaml = Self.pools + "router_settings:\n  routing_strategy: least-busy\nspark_bridge:\n  routing:\n    strategy: session-affinity\n"
        let loaded = try #require(load(yaml))
        #expect(loaded.configuration.settings.routing.strategy == .sessionAffinity)
        #expect(loaded.warnings.map(\.description) == [
            "config.yaml:9:21: router_settings.routing_strategy: spark_bridge.routing.strategy (line 12) is used instead",
        ])
    }

    @Test("a reload that changes routing reports it")
    func diff() throws {
        let before = try #require(load(Self.pools)).configuration
        let after = try #require(load(Self.pools + "spark_bridge:\n  routing:\n    strategy: round-robin\n    affinity_load_factor: 1\n")).configuration
        #expect(ConfigDiff(from: before, to: after).changedSettings == ["routing.strategy", "routing.affinity_load_factor"])
    }
}
