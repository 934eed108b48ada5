// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import Testing

@Suite("Loading a LiteLLM config with a spark_bridge section")
struct ConfigLoaderTests {
    @Test("the LiteLLM example loads unchanged: alias, stripped model id, base URL, key, drop_params, master key")
    func liteLLMExampleLoads() throws {
        let loaded = try #require(load(liteLLMExample))
        #expect(loaded.warnings.isEmpty)
        let config = loaded.configuration
        let resolved = try #require(config.aliases.resolve("claude-sonnet-4-20250514"))
        #expect(resolved.match == .exact)
        #expect(resolved.deployments == [
            Deployment(model: "Intel/Qwen3.6-35B-A3B-int4-AutoRound", apiBase: URL(string: "http://127.0.0.1:8888/v1")!, apiKey: Secret("none")),
        ])
        #expect(config.masterKey == Secret("sk-1234"))
        #expect(config.settings.dropParams)
        #expect(config.sourcePath == "config.yaml")
        #expect(config.backends.map(\.name) == ["127.0.0.1:8888"])
        #expect(config.backends.first?.models == ["Intel/Qwen3.6-35B-A3B-int4-AutoRound"])
    }

    @Test("load(path:) reads a file; a missing file is an error naming it")
    func loadFromPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spark-bridge-\(UUID()).yaml").path
        try liteLLMExample.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ConfigLoader.load(path: path, environment: [:]).configuration.sourcePath == path)
        #expect(throws: ConfigError(location: .wholeFile(path + ".missing"), message: "cannot read the configuration: no such file")) {
            try ConfigLoader.load(path: path + ".missing", environment: [:])
        }
    }

    @Test("api_key: os.environ/NAME is read from the injected environment")
    func apiKeyFromEnvironment() throws {
        let yaml = liteLLMExample.replacing("api_key: none", with: "api_key: os.environ/VLLM_KEY")
        let config = try #require(load(yaml, environment: ["VLLM_KEY": "secret-1"])).configuration
        #expect(config.aliases.resolve("claude-sonnet-4-20250514")?.deployments.first?.apiKey == Secret("secret-1"))
    }

    @Test("a missing environment variable is an error at the value that names it")
    func missingEnvironmentVariable() throws {
        let yaml = liteLLMExample.replacing("api_key: none", with: "api_key: os.environ/VLLM_KEY")
        let error = try #require(loadError(yaml))
        #expect(error.description == "config.yaml:6:16: model_list[0].litellm_params.api_key: environment variable VLLM_KEY is not set (value is os.environ/VLLM_KEY)")
    }

    @Test("environment_variables: in the file supply os.environ/ values, as in LiteLLM")
    func environmentVariablesSection() throws {
        let yaml = "environment_variables:\n  KEY: from-file\n" + liteLLMExample.replacing("master_key: sk-1234", with: "master_key: os.environ/KEY")
        #expect(load(yaml, environment: ["KEY": "from-process"])?.configuration.masterKey == Secret("from-file"))
    }

    @Test("spark_bridge.master_key overrides general_settings.master_key and may come from the environment")
    func masterKeyOverride() throws {
        let yaml = liteLLMExample + "spark_bridge:\n  master_key: os.environ/BRIDGE_KEY\n"
        #expect(load(yaml, environment: ["BRIDGE_KEY": "sk-bridge"])?.configuration.masterKey == Secret("sk-bridge"))
    }

    @Test("a type error names the exact line and column of the value")
    func typeErrorLocation() throws {
        let yaml = oneModel + """
            spark_bridge:
              log_level: info
              timeouts:
                connect_seconds: abc

            """
        let error = try #require(loadError(yaml))
        #expect(error.description == #"config.yaml:7:22: timeouts.connect_seconds: expected a positive number, got "abc""#)
    }

    @Test("a quoted number is a string, so it is refused where a number is expected")
    func quotedNumberIsAString() throws {
        let error = try #require(loadError(oneModel + "spark_bridge:\n  max_body_bytes: \"1024\"\n"))
        #expect(error.description == #"config.yaml:5:19: max_body_bytes: expected a positive integer, got "1024" (a string)"#)
    }

    @Test("every error in the file is reported at once, in file order")
    func allErrorsAtOnce() throws {
        let yaml = oneModel + """
            spark_bridge:
              warmup: {enabled: maybe, max_tokens: 0}
              health: {failures_before_down: -1}
              log_level: loud

            """
        let error = try #require(loadError(yaml))
        #expect(error.diagnostics.map(\.description) == [
            #"config.yaml:5:21: warmup.enabled: expected true or false, got "maybe""#,
            #"config.yaml:5:40: warmup.max_tokens: expected a positive integer, got "0""#,
            #"config.yaml:6:34: health.failures_before_down: expected a positive integer, got "-1""#,
            #"config.yaml:7:14: log_level: expected one of trace, debug, info, notice, warning, error, critical, got "loud""#,
        ])
    }

    @Test("unknown and unused keys are warnings at the key's line and column, never errors")
    func unknownKeysWarn() throws {
        let yaml = """
            model_list:
              - model_name: m
                litellm_params:
                  model: openai/x
                  api_base: http://h:1/v1
                  rpm: 100
                model_info:
                  max_model_len: 32768
            router_settings: {routing_strategy: simple-shuffle, allowed_fails: 2}
            spark_bridge:
              timeouts:
                conect_seconds: 5

            """
        let loaded = try #require(load(yaml))
        #expect(loaded.warnings.map(\.description) == [
            "config.yaml:6:7: model_list[0].litellm_params.rpm: not used by spark-bridge; ignored",
            "config.yaml:7:5: model_list[0].model_info: not used by spark-bridge; ignored",
            "config.yaml:9:53: router_settings.allowed_fails: not used by spark-bridge; ignored",
            "config.yaml:12:5: timeouts.conect_seconds: unknown key; ignored",
        ])
    }

    @Test("a duplicated key keeps its last value, with a warning at the first")
    func duplicateKeyWarns() throws {
        let loaded = try #require(load(oneModel + "spark_bridge:\n  log_level: debug\n  log_level: error\n"))
        #expect(loaded.configuration.settings.logLevel == .error)
        #expect(loaded.warnings.map(\.description) == ["config.yaml:5:3: log_level: duplicate key; the one at line 6 wins"])
    }

    @Test("openai/ and hosted_vllm/ prefixes are stripped once; other providers and bare ids are refused",
          arguments: [
              ("openai/Qwen/Qwen3-Coder-30B-A3B-Instruct", "Qwen/Qwen3-Coder-30B-A3B-Instruct"),
              ("hosted_vllm/meta/llama", "meta/llama"),
              ("openai/openai/gpt-oss-120b", "openai/gpt-oss-120b"),
          ])
    func providerPrefixStripped(model: String, expected: String) throws {
        let config = try #require(load(oneModel.replacing("openai/x", with: model))).configuration
        #expect(config.aliases.resolve("m")?.deployments.first?.model == expected)
    }

    @Test("a provider other than OpenAI-compatible or Anthropic is an error at the model value")
    func otherProviderRefused() throws {
        let error = try #require(loadError(oneModel.replacing("openai/x", with: "bedrock/claude-3")))
        #expect(error.line == 3 && error.column == 29)
        #expect(error.message.hasPrefix(#"model_list[0].litellm_params.model: provider "bedrock" is not supported"#))
        let bare = try #require(loadError(oneModel.replacing("openai/x", with: "qwen3")))
        #expect(bare.message == #"model_list[0].litellm_params.model: expected openai/<model id>, got "qwen3"; the provider prefix says how to reach the model"#)
    }

    @Test("custom_llm_provider: openai takes the model id as written")
    func customProvider() throws {
        let yaml = oneModel.replacing("model: openai/x,", with: "model: Qwen/Qwen3, custom_llm_provider: openai,")
        #expect(load(yaml)?.configuration.aliases.resolve("m")?.deployments.first?.model == "Qwen/Qwen3")
    }

    @Test("api_base is normalised: lowercase host, no trailing slash, path kept; backends are named host:port")
    func apiBaseNormalised() throws {
        let yaml = """
            model_list:
              - model_name: a
                litellm_params: {model: openai/x, api_base: "HTTP://GPU.LAN:8888/v1/"}
              - model_name: b
                litellm_params: {model: openai/y, api_base: "http://gpu.lan:8888/v1"}
              - model_name: c
                litellm_params: {model: openai/z, api_base: "https://[fd00::2]/openai/v1"}

            """
        let config = try #require(load(yaml)).configuration
        #expect(config.aliases.resolve("a")?.deployments.first?.apiBase.absoluteString == "http://gpu.lan:8888/v1")
        #expect(config.backends.map(\.name) == ["gpu.lan:8888", "[fd00::2]:443/openai/v1"])
        #expect(config.backends.first?.models == ["x", "y"])
        #expect(config.backend(named: "gpu.lan:8888")?.apiBase.absoluteString == "http://gpu.lan:8888/v1")
        let bad = try #require(loadError(oneModel.replacing("http://h:1/v1", with: "ftp://h/v1")))
        #expect(bad.message == #"model_list[0].litellm_params.api_base: expected an http:// or https:// URL, got "ftp://h/v1""#)
    }

    @Test("litellm_params.timeout overrides per deployment; missing model or api_base is an error at the entry")
    func deploymentFields() throws {
        let config = try #require(load(oneModel.replacing("api_base:", with: "timeout: 900, api_base:"))).configuration
        #expect(config.aliases.resolve("m")?.deployments.first?.timeout == .seconds(900))
        let error = try #require(loadError("model_list:\n  - model_name: m\n    litellm_params: {api_base: \"http://h/v1\"}\n"))
        #expect(error.description == "config.yaml:3:21: model_list[0].litellm_params.model: missing; write openai/<model id on the backend>")
    }

    @Test("a missing or empty model_list is an error")
    func modelListRequired() throws {
        #expect(loadError("spark_bridge: {}\n")?.description == "config.yaml:1:1: model_list: missing; the bridge needs at least one model to serve")
        #expect(loadError("model_list: []\n")?.message == "model_list: empty; the bridge needs at least one model to serve")
        #expect(loadError("")?.description == "config.yaml: the configuration is empty; it needs at least a model_list")
    }

    @Test("listen takes one HOST:PORT or a list, IPv6 in brackets")
    func listenParsing() throws {
        let single = try #require(load(oneModel + "spark_bridge:\n  listen: 0.0.0.0:8080\n  master_key: k\n")).configuration
        #expect(single.settings.listen == [ListenAddress(host: "0.0.0.0", port: 8080)])
        let list = try #require(load(oneModel + "spark_bridge:\n  listen: [\"[::1]:4000\", localhost:4001]\n")).configuration
        #expect(list.settings.listen == [ListenAddress(host: "::1", port: 4000), ListenAddress(host: "localhost", port: 4001)])
        #expect(list.settings.listen.map(\.description) == ["[::1]:4000", "localhost:4001"])
        #expect(list.settings.listen[0].isIPv6)
    }

    @Test("a bad listen address is an error that says why, at the item",
          arguments: [
              ("\"::1:4000\"", "listen: an IPv6 address needs brackets, as in [::1]:4000, got \"::1:4000\""),
              ("4000", "listen: expected HOST:PORT, got \"4000\""),
              ("\"127.0.0.1:99999\"", "listen: the port must be a number from 0 to 65535, got \"127.0.0.1:99999\""),
              ("\":4000\"", "listen: the host is missing (use 127.0.0.1 or 0.0.0.0), got \":4000\""),
              ("[\"[::1\"]", "listen[0]: missing ']' after the IPv6 address, got \"[::1\""),
              ("[a:1, a:1]", "listen[1]: a:1 is listed twice"),
          ])
    func listenErrors(value: String, message: String) throws {
        #expect(loadError(oneModel + "spark_bridge:\n  listen: \(value)\n")?.message == message)
    }

    @Test("listening beyond loopback without a master key is allowed, with a warning")
    func openListenWarns() throws {
        let loaded = try #require(load(oneModel + "spark_bridge:\n  listen: 0.0.0.0:4000\n"))
        #expect(loaded.warnings.map(\.location.line) == [5])
        #expect(loaded.warnings.first?.message.hasPrefix("listen: 0.0.0.0:4000 accepts connections from other machines") == true)
    }

    @Test("an absent or empty spark_bridge section gives every documented default")
    func defaults() throws {
        let absent = try #require(load(liteLLMExample)).configuration.settings
        let empty = try #require(load(liteLLMExample + "spark_bridge:\n")).configuration.settings
        var expected = BridgeSettings()
        expected.dropParams = true
        #expect(absent == expected)
        #expect(empty == expected)
        #expect(absent.listen.map(\.description) == ["127.0.0.1:4000"])
        #expect(absent.controlSocket == "/run/spark-bridge/control.sock")
        #expect(absent.controlSocketGroup == nil)
        #expect(absent.defaultModel == nil)
        #expect(absent.maxBodyBytes == 33_554_432)
        #expect(absent.timeouts.connect == .seconds(5))
        #expect(absent.timeouts.firstByte == .seconds(600))
        #expect(absent.timeouts.idle == .seconds(120))
        #expect(absent.timeouts.pausedStream == .seconds(120))
        #expect(absent.timeouts.total == .seconds(1800))
        #expect(absent.limits.maxConnections == 1024)
        #expect(absent.limits.headerTimeout == .seconds(10))
        #expect(absent.limits.bodyTimeout == .seconds(30))
        #expect(absent.limits.keepAliveTimeout == .seconds(60))
        #expect(absent.limits.requestDeadline == .seconds(3600))
        #expect(absent.drainDeadline == .seconds(30))
        #expect(absent.health.interval == .seconds(5))
        #expect(absent.health.timeout == .seconds(2))
        #expect(absent.health.failuresBeforeDown == 2)
        #expect(absent.health.successesBeforeUp == 1)
        #expect(absent.warmup.enabled)
        #expect(absent.warmup.interval == nil)
        #expect(absent.warmup.maxTokens == 1)
        #expect(absent.logLevel == .info)
        #expect(absent.retryOnContextOverflow)
        #expect(absent.rescueQwenXML)
    }

    @Test("every spark_bridge key is read; durations take fractional seconds; warmup interval 0 disables")
    func everySettingRead() throws {
        let yaml = oneModel + """
            spark_bridge:
              listen: 127.0.0.1:5000
              control_socket: /tmp/c.sock
              control_socket_group: adm
              default_model: m
              max_body_bytes: 1_048_576
              limits: {max_connections: 64, header_timeout_seconds: 1.5, body_timeout_seconds: 2, keep_alive_timeout_seconds: 3, request_deadline_seconds: 0}
              timeouts: {connect_seconds: 0.5, first_byte_seconds: 30, idle_seconds: 10, paused_stream_seconds: 7, total_seconds: 900}
              drain_deadline_seconds: 0
              health: {interval_seconds: 10, timeout_seconds: 10, failures_before_down: 3, successes_before_up: 2}
              warmup: {enabled: no, interval_seconds: 300, max_tokens: 4}
              log_level: WARN
              retry_on_context_overflow: false
              rescue_qwen_xml: off

            """
        let settings = try #require(load(yaml)).configuration.settings
        #expect(settings.listen == [ListenAddress(host: "127.0.0.1", port: 5000)])
        #expect(settings.controlSocket == "/tmp/c.sock")
        #expect(settings.controlSocketGroup == "adm")
        #expect(settings.defaultModel == "m")
        #expect(settings.maxBodyBytes == 1_048_576)
        #expect(settings.timeouts.connect == .milliseconds(500))
        #expect(settings.timeouts.firstByte == .seconds(30))
        #expect(settings.timeouts.idle == .seconds(10))
        #expect(settings.timeouts.pausedStream == .seconds(7))
        #expect(settings.timeouts.total == .seconds(900))
        #expect(settings.limits.maxConnections == 64)
        #expect(settings.limits.headerTimeout == .milliseconds(1500))
        #expect(settings.limits.bodyTimeout == .seconds(2) && settings.limits.keepAliveTimeout == .seconds(3))
        #expect(settings.limits.requestDeadline == nil)
        #expect(settings.drainDeadline == .zero)
        #expect(settings.health.interval == .seconds(10) && settings.health.timeout == .seconds(10))
        #expect(settings.health.failuresBeforeDown == 3 && settings.health.successesBeforeUp == 2)
        #expect(!settings.warmup.enabled && settings.warmup.interval == .seconds(300) && settings.warmup.maxTokens == 4)
        #expect(settings.logLevel == .warning)
        #expect(!settings.retryOnContextOverflow && !settings.rescueQwenXML)
        #expect(load(oneModel + "spark_bridge:\n  warmup: {interval_seconds: 0}\n")?.configuration.settings.warmup.interval == nil)
    }

    @Test("cross-key checks: health timeout within interval, default_model must name an alias, control_socket absolute")
    func crossKeyChecks() throws {
        #expect(loadError(oneModel + "spark_bridge:\n  health: {interval_seconds: 1, timeout_seconds: 2}\n")?.description
            == "config.yaml:5:50: health.timeout_seconds: must not exceed health.interval_seconds")
        #expect(loadError(oneModel + "spark_bridge:\n  default_model: nope\n")?.description
            == #"config.yaml:5:18: default_model: "nope" matches no model_name; known aliases: m"#)
        #expect(loadError(oneModel + "spark_bridge:\n  limits: {max_connections: 0}\n")?.message
            == #"limits.max_connections: expected a positive integer, got "0""#)
        #expect(loadError(oneModel + "spark_bridge:\n  limits: {header_timeout_seconds: 0}\n")?.message
            == #"limits.header_timeout_seconds: expected a positive number, got "0""#)
        #expect(loadError(oneModel + "spark_bridge:\n  control_socket: run/c.sock\n")?.message
            == #"control_socket: expected an absolute path, got "run/c.sock""#)
    }

    @Test("keys and master key never appear when a configuration is printed")
    func secretsRedacted() throws {
        let config = try #require(load(liteLLMExample.replacing("api_key: none", with: "api_key: sk-upstream"))).configuration
        let printed = "\(config) \(String(reflecting: config)) \(config.aliases.allAliases)"
        #expect(!printed.contains("sk-1234") && !printed.contains("sk-upstream"))
        #expect(config.masterKey?.value == "sk-1234")
    }
}
