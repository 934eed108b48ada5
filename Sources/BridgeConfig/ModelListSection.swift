// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// Reads LiteLLM's `model_list` into aliases: each entry is a deployment of its `model_name`, and
/// entries sharing a `model_name` form that alias's pool.
///
/// ```yaml
/// model_list:
///   - model_name: claude-sonnet-4-20250514      # or a pattern: "claude-*haiku*", "*"
///     litellm_params:
///       model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct   # or hosted_vllm/<id>
///       api_base: http://127.0.0.1:8888/v1
///       api_key: os.environ/VLLM_API_KEY         # optional
///       timeout: 900                             # optional, seconds
/// ```
enum ModelListSection {
    /// The providers whose models are served through an OpenAI-compatible API.
    static let supportedProviders = ["openai", "hosted_vllm"]

    static let ignoredNote = "not used by spark-bridge; ignored"

    /// The aliases of `node` (the `model_list` value), in file order; problems go to `context`.
    static func read(_ node: YAMLNode?, context: ConfigReadContext, documentStart: SourceLocation) -> [AliasTable.Alias] {
        guard let node else {
            context.fail(at: documentStart, "model_list: missing; the bridge needs at least one model to serve")
            return []
        }
        guard case .sequence(let items) = node.content else {
            context.fail(at: node.location, "model_list: expected a list of models, got \(node.summary)")
            return []
        }
        if items.isEmpty {
            context.fail(at: node.location, "model_list: empty; the bridge needs at least one model to serve")
        }
        var names: [String] = []
        var pools: [String: (deployments: [Deployment], location: SourceLocation)] = [:]
        for (index, item) in items.enumerated() {
            guard let (name, deployment) = entry(item, path: "model_list[\(index)]", context: context) else { continue }
            if pools[name] == nil {
                names.append(name)
                pools[name] = ([], item.location)
            }
            pools[name]?.deployments.append(deployment)
        }
        return names.compactMap { name in
            pools[name].map { AliasTable.Alias(name: name, deployments: $0.deployments, location: $0.location) }
        }
    }

    private static func entry(_ node: YAMLNode, path: String, context: ConfigReadContext) -> (String, Deployment)? {
        guard var entry = context.mapping(node, path: path) else { return nil }
        defer { entry.warnAboutUnread(ignoredNote) }
        let name = entry.require("model_name", context.nonEmptyString)
        guard let deployment = entry.require("litellm_params", { deployment($0, path: $1, context: context) }), let name else {
            return nil
        }
        return (name, deployment)
    }

    private static func deployment(_ node: YAMLNode, path: String, context: ConfigReadContext) -> Deployment? {
        guard var params = context.mapping(node, path: path) else { return nil }
        defer { params.warnAboutUnread(ignoredNote) }
        let provider = params.take("custom_llm_provider") { node, path -> String? in
            guard let provider = context.string(node, path) else { return nil }
            guard supportedProviders.contains(provider) else {
                context.fail(at: node.location, "\(path): \(unsupported(provider))")
                return nil
            }
            return provider
        }
        let model = params.require("model", hint: "write openai/<model id on the backend>") { node, path in
            context.resolvedString(node, path) { backendModel($0, customProvider: provider) }
        }
        let apiBase = params.require("api_base", hint: "write the backend's OpenAI base URL, e.g. http://127.0.0.1:8888/v1") { node, path in
            context.resolvedString(node, path, Deployment.normalizedAPIBase)
        }
        let apiKey = params.take("api_key", context.resolvedString).map(Secret.init)
        let timeout = params.take("timeout", context.positiveSeconds)
        guard let model, let apiBase else { return nil }
        return Deployment(model: model, apiBase: apiBase, apiKey: apiKey, timeout: timeout)
    }

    /// The backend model id in a LiteLLM `model` value: `openai/<id>` and `hosted_vllm/<id>` lose
    /// their prefix (only the first: `openai/Qwen/Qwen3` is `Qwen/Qwen3`). With `custom_llm_provider`
    /// set, an unprefixed value is the id itself. Any other provider is refused.
    static func backendModel(_ text: String, customProvider: String?) -> Result<String, ConfigProblem> {
        if let slash = text.firstIndex(of: "/") {
            let provider = String(text[..<slash])
            if supportedProviders.contains(provider) {
                let id = String(text[text.index(after: slash)...])
                return id.isEmpty ? .failure(ConfigProblem("no model id after \"\(provider)/\"")) : .success(id)
            }
            if customProvider == nil { return .failure(ConfigProblem(unsupported(provider))) }
        } else if customProvider == nil {
            return .failure(ConfigProblem("expected openai/<model id>, got \"\(text)\"; the provider prefix says how to reach the model"))
        }
        return text.isEmpty ? .failure(ConfigProblem("must not be empty")) : .success(text)
    }

    private static func unsupported(_ provider: String) -> String {
        "provider \"\(provider)\" is not supported: spark-bridge forwards only to OpenAI-compatible servers (vLLM); "
            + "write openai/<model id> or hosted_vllm/<model id>"
    }
}
