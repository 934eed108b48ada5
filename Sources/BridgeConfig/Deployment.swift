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

    /// A deployment; `apiBase` should already be normalised (as the loader does).
    public init(model: String, apiBase: URL, apiKey: Secret?, timeout: Duration? = nil) {
        self.model = model
        self.apiBase = apiBase
        self.apiKey = apiKey
        self.timeout = timeout
        self.backendName = Backend.name(for: apiBase)
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

    /// A backend; the loader names it with `Backend.name(for:)`.
    public init(name: String, apiBase: URL, models: [String], apiKey: Secret?) {
        self.name = name
        self.apiBase = apiBase
        self.models = models
        self.apiKey = apiKey
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
