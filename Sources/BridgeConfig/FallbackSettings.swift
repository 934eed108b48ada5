// SPDX-License-Identifier: Apache-2.0
/// LiteLLM's `num_retries`, `fallbacks` and `context_window_fallbacks` (under `router_settings`, or
/// `litellm_settings`): what happens to a request whose call fails before any byte reached the client.
public struct FallbackSettings: Sendable, Equatable {
    /// One `{alias: [alias, …]}` entry: requests of the aliases `pattern` names go to `targets`, in order.
    public struct Rule: Sendable, Equatable {
        /// The key as written: a `model_name`, a client model name, or a pattern of either (`claude-opus-*`, `*`).
        public let pattern: String
        /// The model names to try next, in order; each resolves to an alias like a client's model does.
        public let targets: [String]
        /// Where each target is written, for errors found once the aliases are known.
        public let targetLocations: [SourceLocation]

        /// A rule; `targetLocations` parallels `targets`.
        public init(pattern: String, targets: [String], targetLocations: [SourceLocation]) {
            self.pattern = pattern
            self.targets = targets
            self.targetLocations = targetLocations
        }

        /// Rules are equal when they say the same, wherever they are written.
        public static func == (lhs: Rule, rhs: Rule) -> Bool {
            lhs.pattern == rhs.pattern && lhs.targets == rhs.targets
        }

        /// Whether the rule applies to a request of `alias` (the `model_name` as written) for `clientModel`.
        func applies(alias: String, clientModel: String?) -> Bool {
            if pattern == alias || pattern == clientModel { return true }
            guard GlobPattern.isPattern(pattern) else { return false }
            let glob = GlobPattern(pattern)
            return glob.matches(alias) || clientModel.map(glob.matches) == true
        }
    }

    /// `num_retries`: extra calls on the same alias (another deployment first) before it counts as
    /// exhausted. LiteLLM's default is 2; the bridge's is 0, so a configuration that does not ask for
    /// retries never sends a request twice (a retried prompt costs a GPU a second prefill).
    public var numRetries = 0
    /// `fallbacks`: where a request goes when its alias is exhausted.
    public var fallbacks: [Rule] = []
    /// `context_window_fallbacks`: where a prompt too long for its alias's window goes.
    public var contextWindowFallbacks: [Rule] = []

    /// Largest `num_retries` accepted.
    public static let maximumRetries = 10

    /// Every setting at its default: no retry, no fallback.
    public init() {}

    /// The fallback targets of a request of `alias` for `clientModel`: the first rule whose key is the
    /// alias or the client's model, else the first whose pattern matches either; empty when none.
    public static func targets(in rules: [Rule], alias: String, clientModel: String?) -> [String] {
        if let exact = rules.first(where: { $0.pattern == alias || $0.pattern == clientModel }) { return exact.targets }
        return rules.first { $0.applies(alias: alias, clientModel: clientModel) }?.targets ?? []
    }
}
