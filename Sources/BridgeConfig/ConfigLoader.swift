// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Loads and validates a configuration file into a `BridgeConfiguration`.
///
/// The file is a LiteLLM `litellm_config.yaml` (`model_list`, `litellm_settings`,
/// `general_settings`, `environment_variables`), loaded unchanged, plus an optional `spark_bridge:`
/// section for the bridge's own settings. Keys the bridge does not use are warnings, never errors;
/// every error found is reported at once, each with its file, line and column.
public enum ConfigLoader {
    /// Reads and loads the file at `path`. `environment` answers `os.environ/NAME` values; the daemon
    /// passes its process environment.
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> LoadedConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(location: .wholeFile(path), message: "cannot read the configuration: \(readFailure(error))")
        }
        return try load(bytes: Array(data), path: path, environment: environment)
    }

    /// Loads configuration text; `path` is the name used in diagnostics and `sourcePath`.
    public static func load(yaml: String, path: String = "config.yaml", environment: [String: String] = [:]) throws(ConfigError) -> LoadedConfiguration {
        try load(bytes: Array(yaml.utf8), path: path, environment: environment)
    }

    /// Loads the bytes of a configuration file, as read from disk (not necessarily valid UTF-8).
    public static func load(bytes: [UInt8], path: String, environment: [String: String]) throws(ConfigError) -> LoadedConfiguration {
        guard let root = try YAMLReader.parse(bytes, file: path) else {
            throw ConfigError(location: .wholeFile(path), message: "the configuration is empty; it needs at least a model_list")
        }
        let context = ConfigReadContext(file: path, environment: environment)
        guard var document = context.mapping(root, path: "configuration", childPrefix: "") else {
            throw ConfigError(context.errors)
        }
        let litellmNote = ModelListSection.ignoredNote

        // LiteLLM sets these in its process environment before reading anything else.
        if let node = document.take("environment_variables"), var variables = context.mapping(node, path: "environment_variables") {
            for name in variables.keys {
                if let value = variables.take(name, context.string) { context.environment[name] = value }
            }
        }

        var settings = BridgeSettings()
        if let node = document.take("litellm_settings"), var section = context.mapping(node, path: "litellm_settings") {
            section.read("drop_params", into: &settings.dropParams, context.bool)
            FallbackSection.read(&section, into: &settings.fallback, context: context)
            section.warnAboutUnread(litellmNote)
        }
        if let node = document.take("router_settings") {
            RoutingSection.readLiteLLM(node, into: &settings, context: context)
        }
        var masterKey: Secret?
        if let node = document.take("general_settings"), var section = context.mapping(node, path: "general_settings") {
            masterKey = section.take("master_key", context.secret)
            section.warnAboutUnread(litellmNote)
        }
        if let node = document.take("spark_bridge"),
           let bridgeKey = BridgeSettingsSection.read(node, into: &settings, context: context) {
            masterKey = bridgeKey
        }
        let aliases = AliasTable(
            aliases: ModelListSection.read(document.take("model_list"), context: context, documentStart: root.location),
            defaultModel: settings.defaultModel
        )
        document.warnAboutUnread(litellmNote)
        crossCheck(aliases: aliases, settings: settings, masterKey: masterKey, context: context)

        let inFileOrder: (ConfigDiagnostic, ConfigDiagnostic) -> Bool = {
            ($0.line, $0.column) < ($1.line, $1.column)
        }
        if !context.errors.isEmpty {
            throw ConfigError(context.errors.sorted(by: inFileOrder))
        }
        let configuration = BridgeConfiguration(
            settings: settings, aliases: aliases, masterKey: masterKey, sourcePath: path, loadedAt: Date()
        )
        return LoadedConfiguration(configuration: configuration, warnings: context.warnings.sorted(by: inFileOrder))
    }

    /// Checks that span sections: `default_model` must resolve, a leading `*` pattern hides what
    /// follows it, and a bridge reachable from other machines should have a master key.
    private static func crossCheck(aliases: AliasTable, settings: BridgeSettings, masterKey: Secret?, context: ConfigReadContext) {
        if let defaultModel = settings.defaultModel {
            if aliases.defaultAlias == nil, !aliases.allAliases.isEmpty {
                context.fail(
                    at: context.location(of: "default_model"),
                    "default_model: \"\(defaultModel)\" matches no model_name; known aliases: "
                        + aliases.allAliases.map(\.name).joined(separator: ", ")
                )
            }
        }
        if let catchAll = aliases.allAliases.first(where: { $0.name.allSatisfy { $0 == "*" } }) {
            let shadowed = aliases.allAliases.drop(while: { $0.name != catchAll.name }).dropFirst().filter(\.isPattern)
            for alias in shadowed {
                context.warn(at: alias.location, "model_name \"\(alias.name)\" is never used: the pattern \"\(catchAll.name)\" at line \(catchAll.location.line) matches every name first")
            }
            if let defaultModel = settings.defaultModel {
                context.warn(at: context.location(of: "default_model"), "default_model: \"\(defaultModel)\" is never used: the pattern \"\(catchAll.name)\" matches every name")
            }
        }
        FallbackSection.crossCheck(settings.fallback, aliases: aliases, context: context)
        for name in settings.routing.aliases.keys.sorted() where aliases.alias(named: name) == nil {
            context.fail(
                at: context.location(of: "routing.aliases.\(name)"),
                "routing.aliases.\(name): no model_name is \"\(name)\"; known aliases: " + aliases.allAliases.map(\.name).joined(separator: ", ")
            )
        }
        if context.hasRead("routing.strategy"), context.hasRead("router_settings.routing_strategy") {
            context.warn(
                at: context.location(of: "router_settings.routing_strategy"),
                "router_settings.routing_strategy: spark_bridge.routing.strategy (line \(context.location(of: "routing.strategy").line)) is used instead"
            )
        }
        if masterKey == nil, let open = settings.listen.first(where: { !$0.isLoopback }) {
            context.warn(
                at: context.location(of: "listen"),
                "listen: \(open) accepts connections from other machines and no master_key is set; anyone who can reach it can use the backends"
            )
        }
    }

    private static func readFailure(_ error: any Error) -> String {
        switch (error as? CocoaError)?.code {
        case .fileReadNoSuchFile?: return "no such file"
        case .fileReadNoPermission?: return "permission denied"
        default:
            if let posix = (error as? CocoaError)?.underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
            return String(describing: error)
        }
    }
}
