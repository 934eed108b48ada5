// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Testing

@Suite("Configuration diff for sparkctl reload")
struct ConfigDiffTests {
    @Test("added, removed and changed aliases, changed settings and master key are reported")
    func diffReportsChanges() throws {
        let old = try #require(load(liteLLMExample + """
            spark_bridge:
              timeouts: {connect_seconds: 5}

            """)).configuration
        let new = try #require(load("""
            model_list:
              - model_name: claude-sonnet-4-20250514
                litellm_params:
                  model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct
                  api_base: http://127.0.0.1:8888/v1
                  api_key: none
              - model_name: claude-*haiku*
                litellm_params: {model: openai/small, api_base: "http://127.0.0.1:8889/v1"}
            litellm_settings:
              drop_params: true
            spark_bridge:
              master_key: sk-new
              timeouts: {connect_seconds: 10}

            """)).configuration
        let diff = BridgeConfiguration.diff(from: old, to: new)
        #expect(diff.addedAliases.map(\.name) == ["claude-*haiku*"])
        #expect(diff.removedAliases.isEmpty)
        #expect(diff.changedAliases.map(\.name) == ["claude-sonnet-4-20250514"])
        #expect(diff.changedSettings == ["timeouts.connect_seconds"])
        #expect(diff.masterKeyChanged)
        #expect(!diff.isEmpty)
        #expect(diff.lines == [
            "+ claude-*haiku*: small @ 127.0.0.1:8889",
            "~ claude-sonnet-4-20250514: Intel/Qwen3.6-35B-A3B-int4-AutoRound @ 127.0.0.1:8888 → Qwen/Qwen3-Coder-30B-A3B-Instruct @ 127.0.0.1:8888",
            "~ settings: timeouts.connect_seconds",
            "~ master_key",
        ])
        let limited = try #require(load(liteLLMExample + """
            spark_bridge:
              timeouts: {connect_seconds: 5}
              limits: {max_connections: 10, header_timeout_seconds: 1, body_timeout_seconds: 2, keep_alive_timeout_seconds: 3, request_deadline_seconds: 0}

            """)).configuration
        #expect(BridgeConfiguration.diff(from: old, to: limited).changedSettings == [
            "limits.max_connections", "limits.header_timeout_seconds", "limits.body_timeout_seconds",
            "limits.keep_alive_timeout_seconds", "limits.request_deadline_seconds",
        ])
        let back = BridgeConfiguration.diff(from: new, to: old)
        #expect(back.removedAliases.map(\.name) == ["claude-*haiku*"])
        #expect(back.lines.contains("- claude-*haiku*"))
    }

    @Test("reloading the same file, even with entries moved or comments added, is an empty diff")
    func sameConfigurationIsEmpty() throws {
        let first = try #require(load(liteLLMExample)).configuration
        let second = try #require(load("# reloaded\n" + liteLLMExample)).configuration
        let diff = ConfigDiff(from: first, to: second)
        #expect(diff.isEmpty)
        #expect(diff.lines.isEmpty)
    }
}
