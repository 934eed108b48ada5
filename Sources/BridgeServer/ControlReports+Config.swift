// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import FoundationEssentials

extension AliasesReport {
    /// The aliases of a configuration, in file order, with their deployments and, where there are
    /// several, the routing strategy `routing` gives them.
    public init(_ table: AliasTable, routing: RoutingSettings = RoutingSettings()) {
        self.init(
            aliases: table.allAliases.map { alias in
                AliasInfo(
                    name: alias.name,
                    isPattern: alias.isPattern,
                    deployments: alias.deployments.map {
                        AliasDeployment(model: $0.model, backend: $0.backendName, url: $0.apiBase.absoluteString)
                    },
                    routing: alias.deployments.count > 1 ? routing.strategy(forAlias: alias.name).rawValue : nil
                )
            },
            defaultModel: table.defaultModel
        )
    }
}

extension ReloadReport {
    /// What a reload changed, from the diff of the old and new configurations; a changed master key
    /// is listed as the setting `master_key` (its value never leaves the daemon).
    public init(_ diff: ConfigDiff, warnings: [ConfigDiagnostic] = []) {
        self.init(
            added: diff.addedAliases.map(\.name),
            removed: diff.removedAliases.map(\.name),
            changedAliases: diff.changedAliases.map(\.name),
            settingsChanged: diff.changedSettings + (diff.masterKeyChanged ? ["master_key"] : []),
            warnings: warnings.map(\.description)
        )
    }
}

extension ControlFailure {
    /// A rejected configuration: every error as `file:line:column: message`, one per line.
    public init(_ error: ConfigError) {
        self.init(
            message: error.description,
            diagnostics: error.diagnostics.map {
                ControlDiagnostic(file: $0.file, line: $0.line, column: $0.column, message: $0.message)
            }
        )
    }
}
