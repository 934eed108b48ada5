// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Testing

/// The `litellm_config.yaml` the bridge replaces, verbatim.
let liteLLMExample = """
    model_list:
      - model_name: claude-sonnet-4-20250514
        litellm_params:
          model: openai/Intel/Qwen3.6-35B-A3B-int4-AutoRound
          api_base: http://127.0.0.1:8888/v1
          api_key: none
    litellm_settings:
      drop_params: true
    general_settings:
      master_key: sk-1234

    """

/// A one-model `model_list` to put other sections after.
let oneModel = """
    model_list:
      - model_name: m
        litellm_params: {model: openai/x, api_base: "http://h:1/v1"}

    """

/// Loads `yaml` as `config.yaml`; records an issue and returns nil when it does not load.
func load(_ yaml: String, environment: [String: String] = [:], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> LoadedConfiguration? {
    do {
        return try ConfigLoader.load(yaml: yaml, path: "config.yaml", environment: environment)
    } catch {
        Issue.record("did not load: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The error loading `yaml` gives; records an issue and returns nil when it loads.
func loadError(_ yaml: String, environment: [String: String] = [:], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        _ = try ConfigLoader.load(yaml: yaml, path: "config.yaml", environment: environment)
        Issue.record("loaded, expected an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
