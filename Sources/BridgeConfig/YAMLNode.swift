// SPDX-License-Identifier: Apache-2.0
/// A YAML node as the configuration loader sees it: a scalar, a sequence or a mapping, each with the
/// place it was written, so that every diagnostic can point at the exact value.
///
/// Aliases are already resolved (an alias is a copy of its anchored node, location included) and
/// merge keys (`<<: *defaults`) are already applied.
struct YAMLNode: Sendable, Equatable {
    enum Content: Sendable, Equatable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    var content: Content
    /// Where the node starts.
    var location: SourceLocation

    /// The scalar, if this node is one.
    var scalar: YAMLScalar? {
        if case .scalar(let scalar) = content { return scalar }
        return nil
    }

    /// True for `~`, `null`, an empty value, or a `!!null` tag.
    var isNull: Bool { scalar?.isNull ?? false }

    /// How a value is named in "expected …, got …" messages.
    var summary: String {
        switch content {
        case .scalar(let scalar): return scalar.summary
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// `summary`, saying so when a quoted value is refused where a number or boolean was expected:
    /// `"123" (a string)`.
    var summaryWhereTypeMatters: String {
        guard let scalar, !scalar.isPlainUntagged, !scalar.isNull else { return summary }
        return summary + " (a string)"
    }
}

/// One `key: value` entry of a mapping, in the order written.
struct YAMLPair: Sendable, Equatable {
    var key: YAMLNode
    var value: YAMLNode
}

/// A scalar's text together with how it was written: only a plain, untagged scalar is resolved by
/// its content (`123` is a number, `true` a boolean, `~` null); a quoted `"123"` stays a string.
struct YAMLScalar: Sendable, Equatable {
    enum Style: Sendable, Equatable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    var text: String
    var style: Style
    /// The explicit tag (`tag:yaml.org,2002:str` for `!!str`), if any.
    var tag: String?

    static let nullTag = "tag:yaml.org,2002:null"

    /// Whether YAML resolves this scalar's type from its text (plain and untagged).
    var isPlainUntagged: Bool { style == .plain && tag == nil }

    var isNull: Bool {
        if tag == Self.nullTag { return true }
        guard isPlainUntagged else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// The boolean a plain scalar spells (YAML 1.1 as PyYAML reads it: true/false, yes/no, on/off).
    var boolValue: Bool? {
        guard isPlainUntagged else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// The integer a plain scalar spells (`_` digit separators allowed, as YAML 1.1 does).
    var intValue: Int? {
        guard isPlainUntagged else { return nil }
        return Int(text.replacingUnderscores)
    }

    /// The finite number a plain scalar spells.
    var numberValue: Double? {
        guard isPlainUntagged, let value = Double(text.replacingUnderscores), value.isFinite else { return nil }
        return value
    }

    var summary: String {
        if isNull { return "null" }
        let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
        return "\"" + shown.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n") + "\""
    }
}

extension String {
    fileprivate var replacingUnderscores: String {
        contains("_") ? replacing("_", with: "") : self
    }
}
