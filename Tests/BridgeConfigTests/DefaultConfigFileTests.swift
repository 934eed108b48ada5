// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import Testing

@Suite("The shipped etc/spark-bridge/config.yaml")
struct DefaultConfigFileTests {
    /// etc/spark-bridge/config.yaml in this checkout.
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("etc/spark-bridge/config.yaml").path

    @Test("the default config loads with zero warnings, its settings are the documented defaults")
    func defaultConfigLoads() throws {
        let loaded = try ConfigLoader.load(path: Self.path, environment: [:])
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let config = loaded.configuration
        var expected = BridgeSettings()
        expected.defaultModel = "claude-sonnet-*"
        expected.dropParams = true
        #expect(config.settings == expected)
        #expect(config.masterKey == nil)
        #expect(config.backends.map(\.name) == ["127.0.0.1:8000"])
        #expect(config.backends.first?.models == ["Qwen/Qwen3-Coder-30B-A3B-Instruct"])
    }

    @Test("the default config maps Claude Code's model names onto the vLLM on this machine at its default port")
    func defaultConfigAliases() throws {
        let aliases = try ConfigLoader.load(path: Self.path, environment: [:]).configuration.aliases
        #expect(aliases.resolve("claude-sonnet-4-20250514")?.alias == "claude-sonnet-*")
        #expect(aliases.resolve("claude-3-5-haiku-20241022")?.alias == "claude-*haiku*")
        #expect(aliases.resolve("claude-opus-4-1-20250805")?.alias == "claude-opus-*")
        let other = try #require(aliases.resolve("gpt-4o"))
        #expect(other.match == .defaultModel && other.alias == "claude-sonnet-*")
        #expect(other.deployments.first?.apiBase.absoluteString == "http://127.0.0.1:8000/v1")
        #expect(aliases.claudeCodeWarning == nil, "Claude Code's default names must resolve with the shipped config")
    }

    @Test("the commented-out Anthropic API example loads as written once uncommented, and the shipped config sends nothing to it")
    func anthropicExample() throws {
        let text = try String(contentsOfFile: Self.path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "  # - model_name: claude-opus-*"))
        let example = lines[start...].prefix { $0.hasPrefix("  # ") }.map { "  " + $0.dropFirst(4) }
        #expect(example.count == 7)
        let loaded = try ConfigLoader.load(yaml: "model_list:\n" + example.joined(separator: "\n") + "\n", path: "example.yaml", environment: ["ANTHROPIC_API_KEY": "sk-ant-x"])
        let deployment = try #require(loaded.configuration.aliases.resolve("claude-opus-4-5")?.deployments.first)
        #expect(deployment.api == .anthropic(forwardsClientKey: false) && deployment.model == "claude-opus-4-5")
        #expect(deployment.apiKey == Secret("sk-ant-x") && deployment.tls == .systemStore)
        let shipped = try ConfigLoader.load(path: Self.path, environment: [:]).configuration
        #expect(!shipped.aliases.hasAnthropicAliases)
        #expect(shipped.backends.allSatisfy { $0.apiBase.host == "127.0.0.1" })
    }
}
