// SPDX-License-Identifier: Apache-2.0
/// Reads LiteLLM's `num_retries`, `fallbacks` and `context_window_fallbacks` from `router_settings`
/// or `litellm_settings` (LiteLLM reads them from both; `router_settings` wins) into ``FallbackSettings``.
///
/// ```yaml
/// router_settings:
///   num_retries: 2
///   fallbacks: [{"claude-opus-*": ["claude-sonnet-*"]}]
///   context_window_fallbacks: [{"claude-sonnet-*": ["qwen-long"]}]
/// ```
enum FallbackSection {
    /// The keys read, as LiteLLM names them.
    static let keys = ["num_retries", "fallbacks", "context_window_fallbacks"]

    /// Reads the three keys of `section` (either one of LiteLLM's sections) into `settings`.
    static func read(_ section: inout MappingReader, into settings: inout FallbackSettings, context: ConfigReadContext) {
        section.read("num_retries", into: &settings.numRetries) { node, path in
            guard let value = node.scalar?.intValue, value >= 0, value <= FallbackSettings.maximumRetries else {
                context.fail(at: node.location, "\(path): expected an integer from 0 to \(FallbackSettings.maximumRetries), got \(node.summaryWhereTypeMatters)")
                return nil
            }
            return value
        }
        section.read("fallbacks", into: &settings.fallbacks) { rules($0, $1, context: context) }
        section.read("context_window_fallbacks", into: &settings.contextWindowFallbacks) { rules($0, $1, context: context) }
    }

    /// `[{alias: [alias, …]}, …]`: a list of mappings, each key a rule (LiteLLM writes one a mapping).
    static func rules(_ node: YAMLNode, _ path: String, context: ConfigReadContext) -> [FallbackSettings.Rule]? {
        let shape = "expected a list of {model_name: [model_name, …]} mappings"
        guard case .sequence(let items) = node.content else {
            context.fail(at: node.location, "\(path): \(shape), got \(node.summary)")
            return nil
        }
        var rules: [FallbackSettings.Rule] = []
        var valid = true
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard case .mapping(let pairs) = item.content, !pairs.isEmpty else {
                context.fail(at: item.location, "\(itemPath): \(shape), got \(item.summary)")
                valid = false
                continue
            }
            for pair in pairs {
                guard let key = pair.key.scalar?.text, !key.isEmpty else {
                    context.fail(at: pair.key.location, "\(itemPath): the key must be a model_name, got \(pair.key.summary)")
                    valid = false
                    continue
                }
                guard let rule = rule(key: key, pair.value, "\(itemPath).\(key)", context: context) else {
                    valid = false
                    continue
                }
                rules.append(rule)
            }
        }
        return valid ? rules : nil
    }

    private static func rule(key: String, _ node: YAMLNode, _ path: String, context: ConfigReadContext) -> FallbackSettings.Rule? {
        guard case .sequence(let items) = node.content, !items.isEmpty else {
            let got = if case .sequence = node.content { "an empty list" } else { node.summary }
            context.fail(at: node.location, "\(path): expected a non-empty list of model_names to fall back to, got \(got)")
            return nil
        }
        var targets: [String] = []
        var locations: [SourceLocation] = []
        for (index, item) in items.enumerated() {
            guard let target = context.nonEmptyString(item, "\(path)[\(index)]") else { return nil }
            targets.append(target)
            locations.append(item.location)
        }
        return FallbackSettings.Rule(pattern: key, targets: targets, targetLocations: locations)
    }

    /// Checks that need the aliases: every target must resolve to a `model_name`; a key both sections
    /// give is taken from `router_settings`, with a warning at the one not used.
    static func crossCheck(_ settings: FallbackSettings, aliases: AliasTable, context: ConfigReadContext) {
        for (key, rules) in [("fallbacks", settings.fallbacks), ("context_window_fallbacks", settings.contextWindowFallbacks)] {
            for rule in rules {
                for (target, location) in zip(rule.targets, rule.targetLocations)
                where aliases.alias(named: target) == nil && aliases.resolveWithoutDefault(target) == nil {
                    context.fail(
                        at: location,
                        "\(key): \"\(target)\" (the fallback of \"\(rule.pattern)\") is no model_name; known aliases: "
                            + aliases.allAliases.map(\.name).joined(separator: ", ")
                    )
                }
            }
        }
        for key in keys where context.hasRead("router_settings.\(key)") && context.hasRead("litellm_settings.\(key)") {
            context.warn(
                at: context.location(of: "litellm_settings.\(key)"),
                "litellm_settings.\(key): router_settings.\(key) (line \(context.location(of: "router_settings.\(key)").line)) is used instead"
            )
        }
    }
}
