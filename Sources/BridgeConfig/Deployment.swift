// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// One backend model that can serve an alias: a `model_list` entry, resolved.
///
/// Several entries with the same `model_name` make a pool of deployments for that alias.
public struct Deployment: Sendable, Equatable, CustomStringConvertible {
    /// The model id sent to the backend (`litellm_params.model` without its `openai/` or `hosted_vllm/` prefix).
    public let model: String
    /// The OpenAI-compatible base URL, normalised: lowercase scheme and host, no trailing slash,
    /// path kept (`http://192.168.1.50:8888/v1`). Requests go to `apiBase` + `/chat/completions`.
    public let apiBase: URL
    /// `litellm_params.api_key`, environment references resolved; nil sends no `Authorization`.
    public let apiKey: Secret?
    /// `litellm_params.timeout`: overrides `timeouts.first_byte_seconds` for this deployment.
    public let timeout: Duration?
    /// The name of the backend this deployment runs on; see `Backend.name(for:)`. Computed once here:
    /// every request logs it, and parsing the URL each time showed up in profiles.
    public let backendName: String
    /// Which API the deployment speaks, and so how requests reach it.
    public let api: API
    /// How an `https` `api_base`'s certificate is checked (`ssl_verify`, `ca_file`).
    public let tls: TLSVerification

    /// The API a deployment speaks.
    public enum API: Sendable, Equatable {
        /// An OpenAI-compatible server (vLLM): Anthropic requests are translated to Chat Completions.
        case openAICompatible
        /// The Anthropic Messages API (`anthropic/<model>`): requests are relayed untranslated.
        /// `forwardsClientKey`: the client's own `x-api-key`/`Authorization` replaces the deployment's key.
        case anthropic(forwardsClientKey: Bool)
    }

    /// The default `api_base` of an `anthropic/` deployment.
    public static let anthropicAPIBase = URL(string: "https://api.anthropic.com")!

    /// A deployment; `apiBase` should already be normalised (as the loader does).
    public init(model: String, apiBase: URL, apiKey: Secret?, timeout: Duration? = nil, api: API = .openAICompatible, tls: TLSVerification = .systemStore) {
        self.model = model
        self.apiBase = apiBase
        self.apiKey = apiKey
        self.timeout = timeout
        self.api = api
        self.tls = tls
        self.backendName = Backend.name(for: apiBase)
    }

    /// Whether requests are relayed untranslated to the Anthropic API.
    public var isAnthropic: Bool {
        if case .anthropic = api { return true }
        return false
    }

    /// `model @ backend`, without the key.
    public var description: String { "\(model) @ \(backendName)" }

    /// Checks and normalises an `api_base`: http or https, a host, no query or fragment; lowercases
    /// scheme and host and drops trailing slashes. Returns the reason when it is not usable.
    static func normalizedAPIBase(_ text: String) -> Result<URL, ConfigProblem> {
        guard var components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(ConfigProblem("expected an http:// or https:// URL, got \"\(text)\""))
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(ConfigProblem("expected an http:// or https:// URL, got \"\(text)\""))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(ConfigProblem("the URL \"\(text)\" has no host"))
        }
        guard components.query == nil, components.fragment == nil else {
            return .failure(ConfigProblem("the URL \"\(text)\" must not have a query or fragment"))
        }
        components.scheme = scheme
        components.host = host.lowercased()
        while components.path.hasSuffix("/") { components.path.removeLast() }
        guard let url = components.url else {
            return .failure(ConfigProblem("\"\(text)\" is not a valid URL"))
        }
        return .success(url)
    }
}

/// A backend server: one distinct `api_base`, and the models the configuration sends to it.
public struct Backend: Sendable, Equatable {
    /// Stable, readable name: `host:port`, plus the path when it is not `/v1` (`192.168.1.50:8888`).
    public let name: String
    /// The normalised `api_base`.
    public let apiBase: URL
    /// Distinct backend model ids served here, in file order.
    public let models: [String]
    /// The key of the first deployment on this backend, for health probes and warmup requests.
    public let apiKey: Secret?
    /// The certificate check of the first deployment on this backend, for health probes and warmups.
    public let tls: TLSVerification
    /// The Anthropic API: never probed nor warmed (each probe would be a paid request); its health
    /// comes from user requests alone.
    public let isAnthropic: Bool

    /// A backend; the loader names it with `Backend.name(for:)`.
    public init(name: String, apiBase: URL, models: [String], apiKey: Secret?, tls: TLSVerification = .systemStore, isAnthropic: Bool = false) {
        self.name = name
        self.apiBase = apiBase
        self.models = models
        self.apiKey = apiKey
        self.tls = tls
        self.isAnthropic = isAnthropic
    }

    /// The name of the backend at `apiBase`: `host:port` (the scheme's default port when none is
    /// written, IPv6 hosts in brackets), followed by the path unless it is `/v1` or empty.
    public static func name(for apiBase: URL) -> String {
        let components = URLComponents(url: apiBase, resolvingAgainstBaseURL: false)
        var host = components?.host ?? "?"
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        let port = components?.port ?? (components?.scheme == "https" ? 443 : 80)
        let path = components?.path ?? ""
        return "\(host):\(port)" + (path == "/v1" || path.isEmpty ? "" : path)
    }
}

/// A problem with one value, before it is given a location.
struct ConfigProblem: Error, Sendable, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
}
