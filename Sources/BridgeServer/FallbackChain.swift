// SPDX-License-Identifier: Apache-2.0
import BridgeConfig

/// Where a request goes when its call failed before any answer reached the client (LiteLLM's
/// `num_retries`, `fallbacks` and `context_window_fallbacks`): the same alias again, a fallback alias,
/// or nowhere — the error is relayed. A value: failures in, a ``Decision`` out; no I/O.
///
/// An alias is exhausted when its retries are used up (or nothing could be called: every deployment
/// drained); its fallback targets then join the end of the queue, which is tried in order. An alias
/// already tried is skipped, so a chain never loops; and at most ``maximumHops`` calls are made.
struct FallbackChain {
    /// Why the last call failed, as far as the choice is concerned.
    enum Failure: Equatable {
        /// No answer (connection refused or reset, a timeout before the first byte) or a status a
        /// retry may cure: 429, 500, 502, 503, 504, and the Anthropic API's 529.
        case transient
        /// No deployment of the alias could take the request (every one drained): nothing to retry.
        case unavailable
        /// The prompt does not fit the alias's window: the backend's context-length refusal, or the
        /// estimate before any call.
        case contextWindow
    }

    /// What to do next.
    enum Decision: Equatable {
        /// Call the same alias again, a deployment that has not failed first.
        case retry(alias: String)
        /// Call this alias (a fallback target, resolved), with its own retries.
        case fallBack(alias: String, name: String)
        /// Nothing left to try: relay the error as it stands.
        case relay
    }

    /// Most calls one request makes, first call, retries and fallbacks together.
    static let maximumHops = 12

    /// The statuses a retry may cure (LiteLLM's retried errors: rate limit, server errors, timeouts;
    /// and the Anthropic API's 529 "overloaded", which vLLM never sends).
    static func isTransient(status: Int) -> Bool {
        [429, 500, 502, 503, 504, 529].contains(status)
    }

    private let settings: FallbackSettings
    private let aliases: AliasTable
    /// The alias the request is on now.
    private(set) var alias: String
    /// The model name that alias was resolved from: the client's, then a fallback target as written.
    private(set) var name: String
    private var retriesUsed = 0
    /// Calls made or planned so far (the first one included).
    private(set) var hops = 1
    private var tried: Set<String>
    /// Fallback targets still to try, as written, in order.
    private var queue: [String] = []

    /// A chain starting on `alias`, resolved from the client's model `name`.
    init(alias: String, name: String, settings: FallbackSettings, aliases: AliasTable) {
        self.settings = settings
        self.aliases = aliases
        self.alias = alias
        self.name = name
        tried = [alias]
    }

    /// The deployments a call on an alias chooses from: those that have not failed this request, in
    /// the alias's order (the selection's own tiers, panic mode included, then apply); all of them
    /// when every one has failed, so that `num_retries` on a single deployment calls it again.
    static func pool(_ deployments: [Deployment], excluding failed: [Deployment]) -> [Deployment] {
        guard !failed.isEmpty else { return deployments }
        let left = deployments.filter { !failed.contains($0) }
        return left.isEmpty ? deployments : left
    }

    /// Whether anything can ever be tried again: retries or a fallback rule are configured.
    static func isConfigured(_ settings: FallbackSettings) -> Bool {
        settings.numRetries > 0 || !settings.fallbacks.isEmpty || !settings.contextWindowFallbacks.isEmpty
    }

    /// The last call on ``alias`` failed (or could not be made) for `failure`.
    mutating func failed(_ failure: Failure) -> Decision {
        guard hops < Self.maximumHops else { return .relay }
        switch failure {
        case .transient where retriesUsed < settings.numRetries:
            retriesUsed += 1
            hops += 1
            return .retry(alias: alias)
        case .transient, .unavailable:
            return fallBack(settings.fallbacks)
        case .contextWindow:
            return fallBack(settings.contextWindowFallbacks)
        }
    }

    /// The alias is exhausted: its targets in `rules` join the queue; the first untried one is next.
    private mutating func fallBack(_ rules: [FallbackSettings.Rule]) -> Decision {
        queue += FallbackSettings.targets(in: rules, alias: alias, clientModel: name)
        while !queue.isEmpty {
            let target = queue.removeFirst()
            guard let resolved = aliases.resolve(target)?.alias, tried.insert(resolved).inserted else { continue }
            alias = resolved
            name = target
            retriesUsed = 0
            hops += 1
            return .fallBack(alias: resolved, name: target)
        }
        return .relay
    }
}
