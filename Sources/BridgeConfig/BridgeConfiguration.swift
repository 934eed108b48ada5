// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// An immutable, validated snapshot of the whole configuration.
///
/// A reload builds a new snapshot and swaps it in as a whole; requests in flight keep the one they
/// started with.
public struct BridgeConfiguration: Sendable, Equatable {
    /// The `spark_bridge:` settings, defaults filled in.
    public let settings: BridgeSettings
    /// Client model names and the deployments behind them.
    public let aliases: AliasTable
    /// Distinct backends (`api_base`s) in file order, derived from `aliases`.
    public let backends: [Backend]
    /// The key clients must present (`x-api-key` or `Authorization: Bearer`); nil lets every client in.
    /// `spark_bridge.master_key` if set, else `general_settings.master_key`.
    public let masterKey: Secret?
    /// The file this was loaded from.
    public let sourcePath: String
    /// When it was loaded.
    public let loadedAt: Date

    /// A snapshot; `backends` is derived from the deployments in `aliases`.
    public init(settings: BridgeSettings, aliases: AliasTable, masterKey: Secret?, sourcePath: String, loadedAt: Date) {
        self.settings = settings
        self.aliases = aliases
        self.masterKey = masterKey
        self.sourcePath = sourcePath
        self.loadedAt = loadedAt
        backends = Self.backends(of: aliases)
    }

    /// The backend called `name` (see `Backend.name(for:)`).
    public func backend(named name: String) -> Backend? {
        backends.first { $0.name == name }
    }

    private static func backends(of aliases: AliasTable) -> [Backend] {
        var backends: [Backend] = []
        for deployment in aliases.allAliases.flatMap(\.deployments) {
            guard let index = backends.firstIndex(where: { $0.apiBase == deployment.apiBase }) else {
                backends.append(Backend(
                    name: deployment.backendName, apiBase: deployment.apiBase, models: [deployment.model], apiKey: deployment.apiKey,
                    tls: deployment.tls, isAnthropic: deployment.isAnthropic
                ))
                continue
            }
            let backend = backends[index]
            if !backend.models.contains(deployment.model) {
                backends[index] = Backend(
                    name: backend.name, apiBase: backend.apiBase, models: backend.models + [deployment.model], apiKey: backend.apiKey,
                    tls: backend.tls, isAnthropic: backend.isAnthropic
                )
            }
        }
        return backends
    }
}

/// What `ConfigLoader` returns: the snapshot, and the warnings (unknown or ignored keys, …) to log.
public struct LoadedConfiguration: Sendable, Equatable {
    /// The validated snapshot.
    public let configuration: BridgeConfiguration
    /// Non-fatal findings, in file order.
    public let warnings: [ConfigDiagnostic]

    /// A loaded configuration and its warnings.
    public init(configuration: BridgeConfiguration, warnings: [ConfigDiagnostic]) {
        self.configuration = configuration
        self.warnings = warnings
    }
}
