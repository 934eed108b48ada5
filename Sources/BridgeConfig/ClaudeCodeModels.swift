// SPDX-License-Identifier: Apache-2.0
/// The model names Claude Code sends when the user sets none, by class (checked against Claude Code
/// 2.1.332, whose default is `claude-opus-5-5`), so the bridge can say at start when a configuration
/// cannot serve it, and `sparkctl env` can pick names that resolve.
public enum ClaudeCodeModels {
    /// A class of Claude model and the name Claude Code uses for it by default.
    public struct ModelClass: Sendable, Equatable {
        /// `opus`, `sonnet` or `haiku`.
        public let name: String
        /// Claude Code's current default name of the class.
        public let defaultName: String
        /// A `model_name` pattern serving the whole class.
        public let pattern: String
    }

    /// Opus (Claude Code's default), sonnet, haiku.
    public static let classes: [ModelClass] = [
        ModelClass(name: "opus", defaultName: "claude-opus-5-5", pattern: "claude-opus-*"),
        ModelClass(name: "sonnet", defaultName: "claude-sonnet-5-5", pattern: "claude-sonnet-*"),
        ModelClass(name: "haiku", defaultName: "claude-haiku-5-5", pattern: "claude-haiku-*"),
    ]
}

extension AliasTable {
    /// The classes whose Claude Code default name resolves to no alias (none when `default_model` is set).
    public var classesClaudeCodeCannotUse: [ClaudeCodeModels.ModelClass] {
        ClaudeCodeModels.classes.filter { resolve($0.defaultName) == nil }
    }

    /// A warning for the log when Claude Code's default names would be refused, or nil.
    public var claudeCodeWarning: String? {
        let missing = classesClaudeCodeCannotUse
        guard !missing.isEmpty else { return nil }
        let names = missing.map(\.defaultName).joined(separator: ", ")
        let patterns = missing.map(\.pattern).joined(separator: ", ")
        return "Claude Code's default model names (\(names)) resolve to no alias and there is no default_model: "
            + "Claude Code started without --model will get 404. Add a model_name matching them (\"claude-*\", or \(patterns)) "
            + "or set spark_bridge.default_model"
    }
}
