// SPDX-License-Identifier: Apache-2.0
/// What changed between two configurations, for `sparkctl reload` to report.
public struct ConfigDiff: Sendable, Equatable {
    /// An alias whose pool of deployments is different.
    public struct AliasChange: Sendable, Equatable {
        /// The `model_name`.
        public let name: String
        /// Its pool before the reload.
        public let old: [Deployment]
        /// Its pool after the reload.
        public let new: [Deployment]
    }

    /// Aliases only in the new configuration, in its file order.
    public let addedAliases: [AliasTable.Alias]
    /// Aliases only in the old configuration, in its file order.
    public let removedAliases: [AliasTable.Alias]
    /// Aliases in both whose deployments (model, api_base, key or timeout) differ.
    public let changedAliases: [AliasChange]
    /// Setting keys whose value changed (`timeouts.connect_seconds`, `listen`, `default_model`…).
    public let changedSettings: [String]
    /// Whether the master key changed (its value is never shown).
    public let masterKeyChanged: Bool

    /// The differences between `old` and `new`. Moving an alias within the file is not a change.
    public init(from old: BridgeConfiguration, to new: BridgeConfiguration) {
        let oldAliases = old.aliases.allAliases
        let newAliases = new.aliases.allAliases
        addedAliases = newAliases.filter { old.aliases.alias(named: $0.name) == nil }
        removedAliases = oldAliases.filter { new.aliases.alias(named: $0.name) == nil }
        changedAliases = newAliases.compactMap { alias in
            guard let previous = old.aliases.alias(named: alias.name), previous.deployments != alias.deployments else { return nil }
            return AliasChange(name: alias.name, old: previous.deployments, new: alias.deployments)
        }
        changedSettings = Self.changedSettingKeys(old.settings, new.settings)
        masterKeyChanged = old.masterKey != new.masterKey
    }

    /// True when nothing changed.
    public var isEmpty: Bool {
        addedAliases.isEmpty && removedAliases.isEmpty && changedAliases.isEmpty && changedSettings.isEmpty && !masterKeyChanged
    }

    /// One human-readable line per change: `+ alias: model @ backend`, `- alias`,
    /// `~ alias: old → new`, `~ settings: key, key`, `~ master_key`. Keys are never shown.
    public var lines: [String] {
        func pool(_ deployments: [Deployment]) -> String { deployments.map(\.description).joined(separator: ", ") }
        var lines = addedAliases.map { "+ \($0.name): \(pool($0.deployments))" }
        lines += removedAliases.map { "- \($0.name)" }
        lines += changedAliases.map { "~ \($0.name): \(pool($0.old)) → \(pool($0.new))" }
        if !changedSettings.isEmpty { lines.append("~ settings: " + changedSettings.joined(separator: ", ")) }
        if masterKeyChanged { lines.append("~ master_key") }
        return lines
    }

    /// The keys, as written in the file, of the settings that differ.
    private static func changedSettingKeys(_ old: BridgeSettings, _ new: BridgeSettings) -> [String] {
        var keys: [String] = []
        func check<Value: Equatable>(_ key: String, _ path: KeyPath<BridgeSettings, Value>) {
            if old[keyPath: path] != new[keyPath: path] { keys.append(key) }
        }
        check("listen", \.listen)
        check("control_socket", \.controlSocket)
        check("control_socket_group", \.controlSocketGroup)
        check("default_model", \.defaultModel)
        check("max_body_bytes", \.maxBodyBytes)
        check("timeouts.connect_seconds", \.timeouts.connect)
        check("timeouts.first_byte_seconds", \.timeouts.firstByte)
        check("timeouts.idle_seconds", \.timeouts.idle)
        check("timeouts.paused_stream_seconds", \.timeouts.pausedStream)
        check("timeouts.total_seconds", \.timeouts.total)
        check("limits.max_connections", \.limits.maxConnections)
        check("limits.header_timeout_seconds", \.limits.headerTimeout)
        check("limits.body_timeout_seconds", \.limits.bodyTimeout)
        check("limits.keep_alive_timeout_seconds", \.limits.keepAliveTimeout)
        check("limits.request_deadline_seconds", \.limits.requestDeadline)
        check("drain_deadline_seconds", \.drainDeadline)
        check("health.interval_seconds", \.health.interval)
        check("health.timeout_seconds", \.health.timeout)
        check("health.failures_before_down", \.health.failuresBeforeDown)
        check("health.successes_before_up", \.health.successesBeforeUp)
        check("warmup.enabled", \.warmup.enabled)
        check("warmup.interval_seconds", \.warmup.interval)
        check("warmup.max_tokens", \.warmup.maxTokens)
        check("routing.strategy", \.routing.strategy)
        check("routing.aliases", \.routing.aliases)
        check("routing.affinity_load_factor", \.routing.affinityLoadFactor)
        check("routing.affinity_max_waiting", \.routing.affinityMaxWaiting)
        check("router_settings.num_retries", \.fallback.numRetries)
        check("router_settings.fallbacks", \.fallback.fallbacks)
        check("router_settings.context_window_fallbacks", \.fallback.contextWindowFallbacks)
        check("log_level", \.logLevel)
        check("retry_on_context_overflow", \.retryOnContextOverflow)
        check("rescue_qwen_xml", \.rescueQwenXML)
        check("litellm_settings.drop_params", \.dropParams)
        return keys
    }
}

extension BridgeConfiguration {
    /// What changed from `old` to `new`; see `ConfigDiff`.
    public static func diff(from old: BridgeConfiguration, to new: BridgeConfiguration) -> ConfigDiff {
        ConfigDiff(from: old, to: new)
    }
}
