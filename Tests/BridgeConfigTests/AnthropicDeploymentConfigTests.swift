// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import Testing

@Suite("anthropic/<model> deployments in model_list")
struct AnthropicDeploymentConfigTests {
    static let cloud = """
        model_list:
          - model_name: claude-opus-*
            litellm_params:
              model: anthropic/claude-opus-4-5
              api_key: os.environ/ANTHROPIC_API_KEY

        """

    static func caFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spark-bridge-ca-\(UUID()).pem").path
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("anthropic/<model> loads with the default api_base, the key from the environment, the system CA store and no client key forwarded")
    func defaults() throws {
        let loaded = try #require(load(Self.cloud, environment: ["ANTHROPIC_API_KEY": "sk-ant-1"]))
        #expect(loaded.warnings.isEmpty)
        let deployment = try #require(loaded.configuration.aliases.resolve("claude-opus-4-5-20251101")?.deployments.first)
        #expect(deployment.model == "claude-opus-4-5")
        #expect(deployment.apiBase == URL(string: "https://api.anthropic.com")!)
        #expect(deployment.apiKey == Secret("sk-ant-1"))
        #expect(deployment.api == .anthropic(forwardsClientKey: false))
        #expect(deployment.tls == .systemStore)
        #expect(deployment.isAnthropic)
        let backend = try #require(loaded.configuration.backends.first)
        #expect(backend.isAnthropic && backend.name == "api.anthropic.com:443")
        #expect(loaded.configuration.aliases.hasAnthropicAliases)
    }

    @Test("api_base, ca_file and forward_client_key are read; ssl_verify: <path> is the same as ca_file")
    func options() throws {
        let path = try Self.caFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let yaml = Self.cloud + """
                  api_base: "https://127.0.0.1:8443/"
                  ca_file: \(path)
                  forward_client_key: true

            """
        let deployment = try #require(load(yaml, environment: ["ANTHROPIC_API_KEY": "k"])?.configuration.aliases.resolve("claude-opus-x")?.deployments.first)
        #expect(deployment.apiBase == URL(string: "https://127.0.0.1:8443")!)
        #expect(deployment.tls == .caBundle(path: path))
        #expect(deployment.api == .anthropic(forwardsClientKey: true))

        let viaVerify = Self.cloud + "      ssl_verify: \(path)\n"
        #expect(load(viaVerify, environment: ["ANTHROPIC_API_KEY": "k"])?.configuration.aliases.allAliases.first?.deployments.first?.tls == .caBundle(path: path))
    }

    @Test("ssl_verify: false turns the check off with a warning at its line")
    func verifyOff() throws {
        let loaded = try #require(load(Self.cloud + "      ssl_verify: false\n", environment: ["ANTHROPIC_API_KEY": "k"]))
        #expect(loaded.configuration.aliases.allAliases.first?.deployments.first?.tls == .disabled)
        #expect(loaded.warnings.map(\.description) == [
            "config.yaml:6:19: model_list[0].litellm_params.ssl_verify: false: certificates of this deployment are not checked; anyone on the path can read and change its traffic",
        ])
    }

    @Test("errors name file:line:column: a missing CA bundle, ca_file against ssl_verify: false, forward_client_key on vLLM, a mixed pool, an api_base shared by both APIs")
    func errors() throws {
        let missing = try #require(loadError(Self.cloud + "      ca_file: /nonexistent/ca.pem\n", environment: ["ANTHROPIC_API_KEY": "k"]))
        #expect(missing.description == #"config.yaml:6:16: model_list[0].litellm_params.ca_file: the CA bundle "/nonexistent/ca.pem" is not a readable file"#)

        let path = try Self.caFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let both = try #require(loadError(Self.cloud + "      ssl_verify: false\n      ca_file: \(path)\n", environment: ["ANTHROPIC_API_KEY": "k"]))
        #expect(both.description == "config.yaml:7:16: model_list[0].litellm_params.ca_file: set together with ssl_verify: false; keep one of them")

        let vllm = try #require(loadError(oneModel.replacing("api_base: \"http://h:1/v1\"", with: "api_base: \"http://h:1/v1\", forward_client_key: true")))
        #expect(vllm.description.hasPrefix("config.yaml:3:"))
        #expect(vllm.description.contains("forward_client_key: applies only to anthropic/<model> deployments"))

        let mixed = try #require(loadError(Self.cloud + """
              - model_name: claude-opus-*
                litellm_params: {model: openai/x, api_base: "http://h:1/v1"}

            """, environment: ["ANTHROPIC_API_KEY": "k"]))
        #expect(mixed.description.hasPrefix("config.yaml:6:5: model_list[1]: model_name claude-opus-* mixes the Anthropic API and OpenAI-compatible servers"))

        let shared = try #require(loadError(oneModel + """
              - model_name: cloud
                litellm_params: {model: anthropic/claude-opus-4-5, api_base: "http://h:1/v1"}

            """))
        #expect(shared.description.hasPrefix("config.yaml:4:5: model_list[1]: api_base http://h:1/v1 is given both to anthropic/ and to OpenAI-compatible deployments"))
    }

    @Test("a vLLM deployment is OpenAI-compatible, and api_base is still required for it")
    func vllmUnchanged() throws {
        let deployment = try #require(load(oneModel)?.configuration.aliases.resolve("m")?.deployments.first)
        #expect(deployment.api == .openAICompatible && !deployment.isAnthropic)
        let noBase = try #require(loadError("model_list:\n  - model_name: m\n    litellm_params: {model: openai/x}\n"))
        #expect(noBase.description.contains("api_base"))
    }
}
