// SPDX-License-Identifier: Apache-2.0
/// `reload`: what a successful reload changed. A rejected reload is a `ControlFailure` instead,
/// and the daemon keeps the configuration it had.
public struct ReloadReport: Codable, Sendable, Equatable {
    /// False when the file loaded to the same configuration.
    public var changed: Bool
    /// Aliases that are new, by name.
    public var added: [String]
    /// Aliases that are gone, by name.
    public var removed: [String]
    /// Aliases whose deployments differ, by name.
    public var changedAliases: [String]
    /// Setting keys whose value changed (`timeouts.idle_seconds`, `master_key`…); keys are never shown.
    public var settingsChanged: [String]
    /// The new file's warnings, `file:line:column: message`.
    public var warnings: [String]

    /// A report; `changed` is derived from the lists.
    public init(added: [String], removed: [String], changedAliases: [String], settingsChanged: [String], warnings: [String] = []) {
        self.changed = !(added.isEmpty && removed.isEmpty && changedAliases.isEmpty && settingsChanged.isEmpty)
        self.added = added
        self.removed = removed
        self.changedAliases = changedAliases
        self.settingsChanged = settingsChanged
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case changed, added, removed
        case changedAliases = "changed_aliases"
        case settingsChanged = "settings_changed"
        case warnings
    }

    /// Reads a report; `warnings` may be absent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        changed = try container.decode(Bool.self, forKey: .changed)
        added = try container.decode([String].self, forKey: .added)
        removed = try container.decode([String].self, forKey: .removed)
        changedAliases = try container.decode([String].self, forKey: .changedAliases)
        settingsChanged = try container.decode([String].self, forKey: .settingsChanged)
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
    }
}
