// SPDX-License-Identifier: Apache-2.0
/// `aliases`: the model names clients may ask for and where each one goes.
public struct AliasesReport: Codable, Sendable, Equatable {
    /// Every `model_name`, in resolution order (file order: exact names win over patterns regardless).
    public var aliases: [AliasInfo]
    /// The alias serving names nothing else matches; nil when unmatched names are refused.
    public var defaultModel: String?

    /// A report with every field given.
    public init(aliases: [AliasInfo], defaultModel: String?) {
        self.aliases = aliases
        self.defaultModel = defaultModel
    }

    enum CodingKeys: String, CodingKey {
        case aliases
        case defaultModel = "default_model"
    }

    /// Encodes both keys, `null` when there is no default model.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(defaultModel, forKey: .defaultModel)
    }
}

/// One `model_name` and its pool of deployments.
public struct AliasInfo: Codable, Sendable, Equatable {
    /// The name as written: exact, or a pattern with `*` and `?`.
    public var name: String
    /// True when `name` is a pattern.
    public var isPattern: Bool
    /// The deployments requests for it are spread over, in file order.
    public var deployments: [AliasDeployment]
    /// How requests are spread over several deployments (`session-affinity`, `least-busy`,
    /// `round-robin`); nil with a single deployment, or from a daemon that does not say.
    public var routing: String?

    /// An alias with every field given.
    public init(name: String, isPattern: Bool, deployments: [AliasDeployment], routing: String? = nil) {
        self.name = name
        self.isPattern = isPattern
        self.deployments = deployments
        self.routing = routing
    }

    enum CodingKeys: String, CodingKey {
        case name
        case isPattern = "is_pattern"
        case deployments
        case routing
    }
}

/// A backend model serving an alias.
public struct AliasDeployment: Codable, Sendable, Equatable {
    /// The model id sent to the backend.
    public var model: String
    /// The backend's name (`host:port`).
    public var backend: String
    /// The backend's `api_base`.
    public var url: String

    /// A deployment with every field given.
    public init(model: String, backend: String, url: String) {
        self.model = model
        self.backend = backend
        self.url = url
    }
}
