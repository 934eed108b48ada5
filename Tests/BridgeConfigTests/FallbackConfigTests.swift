// SPDX-License-Identifier: Apache-2.0
@testable import BridgeConfig
import Testing

@Suite("LiteLLM's num_retries, fallbacks and context_window_fallbacks")
struct FallbackConfigTests {
    private static let aliases = """
        model_list:
          - model_name: claude-opus-*
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8001/v1"}
          - model_name: claude-sonnet-*
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8002/v1"}
          - model_name: qwen-long
            litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8003/v1"}

        """

    @Test("without the keys nothing is retried and nothing falls back")
    func defaults() throws {
        let loaded = try #require(load(Self.aliases))
        #expect(loaded.configuration.settings.fallback == FallbackSettings())
        #expect(loaded.configuration.settings.fallback.numRetries == 0)
    }

    @Test("router_settings in LiteLLM's shapes load unchanged: flow list of single-key maps, block form, globs")
    func liteLLMShapes() throws {
        let yaml = Self.aliases + """
            router_settings:
              num_retries: 2
              fallbacks: [{"claude-opus-*": ["claude-sonnet-*", "qwen-long"]}]
              context_window_fallbacks:
                - claude-sonnet-*: [qwen-long]
                - "*": ["qwen-long"]
              allowed_fails: 3

            """
        let loaded = try #require(load(yaml))
        let fallback = loaded.configuration.settings.fallback
        #expect(fallback.numRetries == 2)
        #expect(fallback.fallbacks.map(\.pattern) == ["claude-opus-*"])
        #expect(fallback.fallbacks[0].targets == ["claude-sonnet-*", "qwen-long"])
        #expect(fallback.contextWindowFallbacks.map(\.pattern) == ["claude-sonnet-*", "*"])
        #expect(loaded.warnings.map(\.description) == ["config.yaml:14:3: router_settings.allowed_fails: not used by spark-bridge; ignored"])
    }

    @Test("a rule applies to its alias as written, to a client model it names, and by glob; exact keys first")
    func matching() {
        let rules = [
            FallbackSettings.Rule(pattern: "*", targets: ["any"], targetLocations: []),
            FallbackSettings.Rule(pattern: "claude-opus-4-5", targets: ["exact"], targetLocations: []),
        ]
        #expect(FallbackSettings.targets(in: rules, alias: "claude-opus-*", clientModel: "claude-opus-4-5") == ["exact"])
        #expect(FallbackSettings.targets(in: rules, alias: "claude-sonnet-*", clientModel: "claude-sonnet-4-5") == ["any"])
        let glob = [FallbackSettings.Rule(pattern: "claude-*", targets: ["x"], targetLocations: [])]
        #expect(FallbackSettings.targets(in: glob, alias: "qwen", clientModel: "claude-haiku-4-5") == ["x"])
        #expect(FallbackSettings.targets(in: glob, alias: "qwen", clientModel: "qwen").isEmpty)
    }

    @Test("the same keys under litellm_settings load; when both sections give one, router_settings wins with a warning")
    func bothSections() throws {
        let yaml = Self.aliases + """
            litellm_settings:
              num_retries: 1
              fallbacks: [{"claude-opus-*": ["qwen-long"]}]
            router_settings:
              num_retries: 3

            """
        let loaded = try #require(load(yaml))
        let fallback = loaded.configuration.settings.fallback
        #expect(fallback.numRetries == 3)
        #expect(fallback.fallbacks.first?.targets == ["qwen-long"])
        #expect(loaded.warnings.map(\.description) == ["config.yaml:9:16: litellm_settings.num_retries: router_settings.num_retries (line 12) is used instead"])
    }

    @Test("a fallback naming no model_name, a bad shape and a bad num_retries are errors at their place")
    func errors() throws {
        let yaml = Self.aliases + """
            router_settings:
              num_retries: 11
              fallbacks: [{"claude-opus-*": ["claude-sonet-*"]}]
              context_window_fallbacks: {"claude-sonnet-*": ["qwen-long"]}

            """
        let error = try #require(loadError(yaml))
        #expect(error.diagnostics.map(\.description) == [
            "config.yaml:9:16: router_settings.num_retries: expected an integer from 0 to 10, got \"11\"",
            "config.yaml:10:34: fallbacks: \"claude-sonet-*\" (the fallback of \"claude-opus-*\") is no model_name; known aliases: claude-opus-*, claude-sonnet-*, qwen-long",
            "config.yaml:11:29: router_settings.context_window_fallbacks: expected a list of {model_name: [model_name, …]} mappings, got a mapping",
        ])
        let shapes = Self.aliases + """
            router_settings:
              fallbacks: ["claude-opus-*", {"claude-opus-*": []}]

            """
        let shapeError = try #require(loadError(shapes))
        #expect(shapeError.diagnostics.map(\.description) == [
            "config.yaml:9:15: router_settings.fallbacks[0]: expected a list of {model_name: [model_name, …]} mappings, got \"claude-opus-*\"",
            "config.yaml:9:50: router_settings.fallbacks[1].claude-opus-*: expected a non-empty list of model_names to fall back to, got an empty list",
        ])
    }

    @Test("a fallback target may be a client model name a pattern serves")
    func targetThroughPattern() throws {
        let yaml = Self.aliases + "router_settings:\n  fallbacks: [{\"qwen-long\": [\"claude-sonnet-4-5\"]}]\n"
        #expect(load(yaml)?.configuration.settings.fallback.fallbacks.first?.targets == ["claude-sonnet-4-5"])
    }

    @Test("a reload that changes retries or fallbacks reports them; one that only moves them does not")
    func reloadDiff() throws {
        let before = try #require(load(Self.aliases + "router_settings:\n  fallbacks: [{\"claude-opus-*\": [\"qwen-long\"]}]\n"))
        let moved = try #require(load(Self.aliases + "\n\nrouter_settings:\n  fallbacks: [{\"claude-opus-*\": [\"qwen-long\"]}]\n"))
        #expect(ConfigDiff(from: before.configuration, to: moved.configuration).changedSettings.isEmpty)
        let after = try #require(load(Self.aliases + "router_settings:\n  num_retries: 1\n  fallbacks: [{\"claude-opus-*\": [\"claude-sonnet-*\"]}]\n"))
        #expect(ConfigDiff(from: before.configuration, to: after.configuration).changedSettings == ["router_settings.num_retries", "router_settings.fallbacks"])
    }
}
