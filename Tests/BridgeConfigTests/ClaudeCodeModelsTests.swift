// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Testing

/// Whether a configuration can serve Claude Code started without `--model`.
@Suite("Claude Code's default model names")
struct ClaudeCodeModelsTests {
    @Test("the seed's LiteLLM names (no claude-opus-*) and no default_model: a warning that says what to add")
    func seedConfigWarns() throws {
        let yaml = """
            model_list:
              - model_name: claude-sonnet-4-20250514
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}
              - model_name: claude-3-5-sonnet-20241022
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}
              - model_name: claude-3-opus-20240229
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}

            """
        let aliases = try #require(load(yaml)).configuration.aliases
        #expect(aliases.classesClaudeCodeCannotUse.map(\.name) == ["opus", "sonnet", "haiku"])
        let warning = try #require(aliases.claudeCodeWarning)
        #expect(warning.contains("claude-opus-5-5") && warning.contains("\"claude-*\"") && warning.contains("default_model"))
    }

    @Test("a claude-* pattern, or a default_model, serves every class: no warning")
    func servedNoWarning() throws {
        let pattern = """
            model_list:
              - model_name: claude-*
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}

            """
        #expect(try #require(load(pattern)).configuration.aliases.claudeCodeWarning == nil)
        let fallback = """
            model_list:
              - model_name: local
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}
            spark_bridge:
              default_model: local

            """
        #expect(try #require(load(fallback)).configuration.aliases.claudeCodeWarning == nil)
    }

    @Test("only the classes left out are named")
    func partial() throws {
        let yaml = """
            model_list:
              - model_name: claude-opus-*
                litellm_params: {model: openai/q, api_base: "http://127.0.0.1:8888/v1"}

            """
        let aliases = try #require(load(yaml)).configuration.aliases
        #expect(aliases.classesClaudeCodeCannotUse.map(\.name) == ["sonnet", "haiku"])
        #expect(aliases.claudeCodeWarning?.contains("claude-opus-5-5") == false)
    }
}
