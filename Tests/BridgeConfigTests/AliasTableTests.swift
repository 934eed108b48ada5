// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import Testing

@Suite("Alias resolution")
struct AliasTableTests {
    private let yaml = """
        model_list:
          - model_name: claude-sonnet-4-20250514
            litellm_params: {model: openai/exact, api_base: "http://a:1/v1"}
          - model_name: claude-*haiku*
            litellm_params: {model: openai/small, api_base: "http://a:1/v1"}
          - model_name: claude-*
            litellm_params: {model: openai/any-claude, api_base: "http://a:1/v1"}
          - model_name: claude-sonnet-?
            litellm_params: {model: openai/never, api_base: "http://a:1/v1"}
          - model_name: fallback
            litellm_params: {model: openai/fallback, api_base: "http://b:2/v1"}
        spark_bridge:
          default_model: fallback

        """

    @Test("exact model_name first, then patterns in file order, then default_model")
    func resolutionOrder() throws {
        let aliases = try #require(load(yaml)).configuration.aliases
        let exact = try #require(aliases.resolve("claude-sonnet-4-20250514"))
        #expect(exact.alias == "claude-sonnet-4-20250514" && exact.match == .exact && exact.pattern == nil)
        let haiku = try #require(aliases.resolve("claude-3-5-haiku-20241022"))
        #expect(haiku.alias == "claude-*haiku*" && haiku.pattern == "claude-*haiku*")
        #expect(haiku.deployments.map(\.model) == ["small"])
        // claude-* is listed before claude-sonnet-?, so it wins: first match in file order.
        #expect(aliases.resolve("claude-sonnet-5")?.pattern == "claude-*")
        let fallback = try #require(aliases.resolve("gpt-4o"))
        #expect(fallback.requestedModel == "gpt-4o" && fallback.alias == "fallback" && fallback.match == .defaultModel)
        #expect(fallback.deployments.map(\.model) == ["fallback"])
    }

    @Test("without default_model an unmatched name resolves to nothing; the message lists the aliases")
    func unknownModel() throws {
        let aliases = try #require(load(liteLLMExample)).configuration.aliases
        #expect(aliases.resolve("gpt-4o") == nil)
        #expect(aliases.unknownModelMessage("gpt-4o") == "unknown model gpt-4o; known aliases: claude-sonnet-4-20250514")
        #expect(aliases.allAliases.map(\.name) == ["claude-sonnet-4-20250514"])
    }

    @Test("default_model may name a pattern alias as written")
    func defaultModelNamesPattern() throws {
        let config = try #require(load(yaml.replacing("default_model: fallback", with: "default_model: claude-*haiku*"))).configuration
        #expect(config.aliases.resolve("gpt-4o")?.alias == "claude-*haiku*")
    }

    @Test("entries sharing a model_name form one alias whose pool keeps file order")
    func poolOfDeployments() throws {
        let yaml = """
            model_list:
              - model_name: claude-sonnet-*
                litellm_params: {model: openai/q, api_base: "http://gpu1:8888/v1"}
              - model_name: other
                litellm_params: {model: openai/o, api_base: "http://gpu1:8888/v1"}
              - model_name: claude-sonnet-*
                litellm_params: {model: hosted_vllm/q, api_base: "http://gpu2:8888/v1", timeout: 30}

            """
        let config = try #require(load(yaml)).configuration
        #expect(config.aliases.allAliases.map(\.name) == ["claude-sonnet-*", "other"])
        let pool = try #require(config.aliases.resolve("claude-sonnet-4")).deployments
        #expect(pool.map(\.backendName) == ["gpu1:8888", "gpu2:8888"])
        #expect(pool.map(\.timeout) == [nil, .seconds(30)])
        #expect(config.aliases.allAliases[0].location.line == 2)
        #expect(config.backends.map(\.models) == [["q", "o"], ["q"]])
    }

    @Test("a leading catch-all pattern shadows later patterns and default_model, with warnings")
    func catchAllShadowWarnings() throws {
        let yaml = """
            model_list:
              - model_name: "*"
                litellm_params: {model: openai/all, api_base: "http://a:1/v1"}
              - model_name: claude-*
                litellm_params: {model: openai/never, api_base: "http://a:1/v1"}
            spark_bridge:
              default_model: "*"

            """
        let loaded = try #require(load(yaml))
        #expect(loaded.warnings.map(\.description) == [
            #"config.yaml:4:5: model_name "claude-*" is never used: the pattern "*" at line 2 matches every name first"#,
            #"config.yaml:7:18: default_model: "*" is never used: the pattern "*" matches every name"#,
        ])
        #expect(loaded.configuration.aliases.resolve("anything")?.pattern == "*")
    }

    @Test("glob: * matches any run including none, ? exactly one character, everything else itself",
          arguments: [
              ("claude-*haiku*", "claude-3-5-haiku-20241022", true),
              ("claude-*haiku*", "claude-haiku", true),
              ("claude-*haiku*", "claude-sonnet-4", false),
              ("claude-?", "claude-4", true),
              ("claude-?", "claude-", false),
              ("claude-?", "claude-45", false),
              ("*", "", true),
              ("a*b*c", "aXbYbZc", true),
              ("a*b*c", "aXbYbZ", false),
              ("Claude-*", "claude-x", false),
          ])
    func glob(pattern: String, name: String, matches: Bool) {
        let deployment = Deployment(model: "m", apiBase: URL(string: "http://h:1/v1")!, apiKey: nil)
        let table = AliasTable(aliases: [.init(name: pattern, deployments: [deployment], location: .wholeFile("t"))])
        #expect((table.resolve(name) != nil) == matches)
    }
}
