// SPDX-License-Identifier: Apache-2.0
/// The client model names (`model_name`s) the bridge answers to, and the deployments behind each.
///
/// Resolution order, first hit wins:
/// 1. an exact `model_name`;
/// 2. wildcard `model_name`s (`claude-*haiku*`), in file order — so list specific patterns before
///    general ones; a `*` placed first would take every name;
/// 3. `default_model`, when set: the alias of that `model_name` (which may be a pattern as written).
public struct AliasTable: Sendable, Equatable {
    /// One `model_name` and its pool: every `model_list` entry with that name, in file order.
    public struct Alias: Sendable, Equatable {
        /// The `model_name` as written: an exact name or a wildcard pattern.
        public let name: String
        /// The deployments serving this alias; never empty.
        public let deployments: [Deployment]
        /// Where the first entry of this name is.
        public let location: SourceLocation

        /// True when `name` contains `*` or `?`.
        public var isPattern: Bool { GlobPattern.isPattern(name) }

        /// True when the pool is the Anthropic API (the loader keeps a pool to one API).
        public var isAnthropic: Bool { deployments.first?.isAnthropic ?? false }

        /// An alias; `deployments` must not be empty.
        public init(name: String, deployments: [Deployment], location: SourceLocation) {
            self.name = name
            self.deployments = deployments
            self.location = location
        }
    }

    /// Every alias, exact names and patterns, in file order (for `GET /v1/models` and error messages).
    public let allAliases: [Alias]
    /// `default_model`, as configured.
    public let defaultModel: String?
    /// Some alias is the Anthropic API: requests must be routed before they are translated.
    public let hasAnthropicAliases: Bool

    /// The alias `default_model` names: a `model_name` as written (`claude-sonnet-*` included), or
    /// else the alias that name matches as a pattern; nil when unset or naming nothing.
    let defaultAlias: Alias?

    private let exact: [String: Int]
    private let patterns: [(pattern: GlobPattern, index: Int)]

    /// A table over `aliases` (names unique, file order). `defaultModel` names an alias (a pattern
    /// as written, or a name that resolves to one); one that names nothing is never used.
    public init(aliases: [Alias], defaultModel: String? = nil) {
        allAliases = aliases
        self.defaultModel = defaultModel
        hasAnthropicAliases = aliases.contains { $0.isAnthropic }
        var exact: [String: Int] = [:]
        var patterns: [(GlobPattern, Int)] = []
        for (index, alias) in aliases.enumerated() {
            if alias.isPattern {
                patterns.append((GlobPattern(alias.name), index))
            } else if exact[alias.name] == nil {
                exact[alias.name] = index
            }
        }
        self.exact = exact
        self.patterns = patterns
        defaultAlias = defaultModel.flatMap { name in
            aliases.first { $0.name == name } ?? patterns.first { $0.0.matches(name) }.map { aliases[$0.1] }
        }
    }

    /// The alias and deployments serving `clientModel`, or nil when nothing matches and there is no
    /// usable `default_model`.
    public func resolve(_ clientModel: String) -> ResolvedAlias? {
        if let match = resolveWithoutDefault(clientModel) { return match }
        guard let target = defaultAlias else { return nil }
        return ResolvedAlias(requestedModel: clientModel, alias: target.name, match: .defaultModel, deployments: target.deployments)
    }

    /// The alias called exactly `name` (a `model_name` as written, pattern or not).
    public func alias(named name: String) -> Alias? {
        allAliases.first { $0.name == name }
    }

    /// The client-facing message for a model nothing serves: `unknown model X; known aliases: a, b`.
    public func unknownModelMessage(_ clientModel: String) -> String {
        "unknown model \(clientModel); known aliases: " + allAliases.map(\.name).joined(separator: ", ")
    }

    func resolveWithoutDefault(_ clientModel: String) -> ResolvedAlias? {
        if let index = exact[clientModel] {
            let alias = allAliases[index]
            return ResolvedAlias(requestedModel: clientModel, alias: alias.name, match: .exact, deployments: alias.deployments)
        }
        for (pattern, index) in patterns where pattern.matches(clientModel) {
            let alias = allAliases[index]
            return ResolvedAlias(requestedModel: clientModel, alias: alias.name, match: .pattern(alias.name), deployments: alias.deployments)
        }
        return nil
    }

    /// Tables are equal when their aliases (in order) and default model are.
    public static func == (lhs: AliasTable, rhs: AliasTable) -> Bool {
        lhs.allAliases == rhs.allAliases && lhs.defaultModel == rhs.defaultModel
    }
}

/// What `AliasTable.resolve` found for a client's model name.
public struct ResolvedAlias: Sendable, Equatable {
    /// How the client's model name was matched.
    public enum Match: Sendable, Equatable {
        /// The name is a `model_name`.
        case exact
        /// The name matched this wildcard `model_name`.
        case pattern(String)
        /// Nothing matched; `default_model` serves it.
        case defaultModel
    }

    /// The model name the client asked for.
    public let requestedModel: String
    /// The `model_name` whose pool serves the request (for a default, the alias `default_model` resolved to).
    public let alias: String
    /// How it matched.
    public let match: Match
    /// The pool of deployments to choose from; never empty.
    public let deployments: [Deployment]

    /// True when the pool is the Anthropic API (the loader keeps a pool to one API).
    public var isAnthropic: Bool { deployments.first?.isAnthropic ?? false }

    /// A resolution; `deployments` must not be empty.
    public init(requestedModel: String, alias: String, match: Match, deployments: [Deployment]) {
        self.requestedModel = requestedModel
        self.alias = alias
        self.match = match
        self.deployments = deployments
    }

    /// The wildcard pattern that matched, if any.
    public var pattern: String? {
        if case .pattern(let pattern) = match { return pattern }
        return nil
    }
}
