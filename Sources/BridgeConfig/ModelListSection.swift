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
///   - model_name: claude-opus-*                   # the Anthropic API, relayed untranslated
///     litellm_params:
///       model: anthropic/claude-opus-4-5
///       api_key: os.environ/ANTHROPIC_API_KEY
///       api_base: https://api.anthropic.com       # optional; the default
///       ssl_verify: true                          # optional: false, or a CA bundle's path
///       ca_file: /etc/spark-bridge/ca.pem         # optional: a CA bundle's path
///       forward_client_key: false                 # optional: send the client's own key instead
/// ```
///
/// An alias's deployments all speak one API: a pool mixing vLLM and the Anthropic API is refused.
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
        var anthropicBases: [URL: Bool] = [:]
        for (index, item) in items.enumerated() {
            guard let (name, deployment) = entry(item, path: path(index), context: context) else { continue }
            if let anthropic = anthropicBases[deployment.apiBase], anthropic != deployment.isAnthropic {
                context.fail(
                    at: item.location,
                    "\(path(index)): api_base \(deployment.apiBase.absoluteString) is given both to anthropic/ and to OpenAI-compatible "
                        + "deployments; one server speaks one of the two APIs"
                )
                continue
            }
            anthropicBases[deployment.apiBase] = deployment.isAnthropic
            if pools[name] == nil {
                names.append(name)
                pools[name] = ([], item.location)
            }
            if let first = pools[name]?.deployments.first, first.isAnthropic != deployment.isAnthropic {
                context.fail(
                    at: item.location,
                    "\(path(index)): model_name \(name) mixes the Anthropic API and OpenAI-compatible servers in one pool; "
                        + "give each its own model_name (an alias's deployments all speak one API)"
                )
                continue
            }
            pools[name]?.deployments.append(deployment)
        }
        return names.compactMap { name in
            pools[name].map { AliasTable.Alias(name: name, deployments: $0.deployments, location: $0.location) }
        }
    }

    private static func path(_ index: Int) -> String { "model_list[\(index)]" }

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
            guard supportedProviders.contains(provider) || provider == anthropicProvider else {
                context.fail(at: node.location, "\(path): \(unsupported(provider))")
                return nil
            }
            return provider
        }
        let target = params.require("model", hint: "write openai/<model id on the backend>") { node, path in
            context.resolvedString(node, path) { backendModel($0, customProvider: provider) }
        }
        let anthropic = target?.anthropic ?? false
        let apiBaseHint = "write the backend's OpenAI base URL, e.g. http://127.0.0.1:8888/v1"
        let apiBase = anthropic
            ? params.take("api_base") { context.resolvedString($0, $1, Deployment.normalizedAPIBase) } ?? Deployment.anthropicAPIBase
            : params.require("api_base", hint: apiBaseHint) { node, path in context.resolvedString(node, path, Deployment.normalizedAPIBase) }
        let apiKey = params.take("api_key", context.resolvedString).map(Secret.init)
        let timeout = params.take("timeout", context.positiveSeconds)
        let tls = tlsVerification(&params, context: context)
        let forwardsClientKey = params.take("forward_client_key") { node, path -> Bool? in
            guard let value = context.bool(node, path) else { return nil }
            if !anthropic, target != nil {
                context.fail(at: node.location, "\(path): applies only to anthropic/<model> deployments (the Anthropic API); vLLM gets the deployment's api_key")
                return nil
            }
            return value
        }
        guard let target, let apiBase else { return nil }
        let api: Deployment.API = anthropic ? .anthropic(forwardsClientKey: forwardsClientKey ?? false) : .openAICompatible
        return Deployment(model: target.id, apiBase: apiBase, apiKey: apiKey, timeout: timeout, api: api, tls: tls)
    }

    /// `ssl_verify` (LiteLLM: true, false, or a CA bundle's path) and `ca_file` (a CA bundle's path):
    /// a bundle must be a readable file; `ssl_verify: false` is warned about; both paths set must agree.
    private static func tlsVerification(_ params: inout MappingReader, context: ConfigReadContext) -> TLSVerification {
        func bundle(_ node: YAMLNode, _ path: String) -> String? {
            guard let file = context.resolvedString(node, path) else { return nil }
            guard !file.isEmpty, FileManager.default.isReadableFile(atPath: file) else {
                context.fail(at: node.location, "\(path): the CA bundle \"\(file)\" is not a readable file")
                return nil
            }
            return file
        }
        let verify = params.take("ssl_verify") { node, path -> TLSVerification? in
            if let flag = node.scalar?.boolValue {
                if !flag {
                    context.warn(at: node.location, "\(path): false: certificates of this deployment are not checked; anyone on the path can read and change its traffic")
                }
                return flag ? .systemStore : .disabled
            }
            return bundle(node, path).map { .caBundle(path: $0) }
        }
        let caFile = params.take("ca_file") { node, path -> (String, SourceLocation, String)? in
            bundle(node, path).map { ($0, node.location, path) }
        }
        guard let (file, location, path) = caFile else { return verify ?? .systemStore }
        switch verify {
        case .disabled:
            context.fail(at: location, "\(path): set together with ssl_verify: false; keep one of them")
        case .caBundle(let other) where other != file:
            context.fail(at: location, "\(path): \"\(file)\" differs from ssl_verify's \"\(other)\"; keep one of them")
        default:
            break
        }
        return .caBundle(path: file)
    }

    /// The provider of the Anthropic API, whose deployments are relayed untranslated.
    static let anthropicProvider = "anthropic"

    /// The model id in a LiteLLM `model` value, and whether it is the Anthropic API's: `openai/<id>`,
    /// `hosted_vllm/<id>` and `anthropic/<id>` lose their prefix (only the first: `openai/Qwen/Qwen3`
    /// is `Qwen/Qwen3`). With `custom_llm_provider` set, an unprefixed value is the id itself. Any
    /// other provider is refused.
    static func backendModel(_ text: String, customProvider: String?) -> Result<(id: String, anthropic: Bool), ConfigProblem> {
        if let slash = text.firstIndex(of: "/") {
            let provider = String(text[..<slash])
            if supportedProviders.contains(provider) || provider == anthropicProvider {
                let id = String(text[text.index(after: slash)...])
                return id.isEmpty ? .failure(ConfigProblem("no model id after \"\(provider)/\"")) : .success((id, provider == anthropicProvider))
            }
            if customProvider == nil { return .failure(ConfigProblem(unsupported(provider))) }
        } else if customProvider == nil {
            return .failure(ConfigProblem("expected openai/<model id>, got \"\(text)\"; the provider prefix says how to reach the model"))
        }
        return text.isEmpty ? .failure(ConfigProblem("must not be empty")) : .success((text, customProvider == anthropicProvider))
    }

    private static func unsupported(_ provider: String) -> String {
        "provider \"\(provider)\" is not supported: spark-bridge forwards to OpenAI-compatible servers (vLLM) and the Anthropic API; "
            + "write openai/<model id>, hosted_vllm/<model id> or anthropic/<model id>"
    }
}
