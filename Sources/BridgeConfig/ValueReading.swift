// SPDX-License-Identifier: Apache-2.0
/// The state of one load: the diagnostics found so far, the environment for `os.environ/` values,
/// and where each value read was written (for checks that span several keys).
///
/// Readers record a problem and return nil instead of throwing, so that one load reports every
/// error in the file, not only the first.
final class ConfigReadContext {
    let file: String
    /// The injected environment, overlaid with the file's `environment_variables:`.
    var environment: [String: String]
    private(set) var warnings: [ConfigDiagnostic] = []
    private(set) var errors: [ConfigDiagnostic] = []
    /// The location of every value taken from a mapping, by its key path.
    private(set) var locations: [String: SourceLocation] = [:]

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    func warn(at location: SourceLocation, _ message: String) {
        warnings.append(ConfigDiagnostic(location: location, message: message))
    }

    func fail(at location: SourceLocation, _ message: String) {
        errors.append(ConfigDiagnostic(location: location, message: message))
    }

    /// Where the value at `path` was written; the start of the file when it was not written.
    func location(of path: String) -> SourceLocation {
        locations[path] ?? SourceLocation(file: file, line: 1, column: 1)
    }

    /// Whether a value was written at `path`.
    func hasRead(_ path: String) -> Bool {
        locations[path] != nil
    }

    fileprivate func record(_ path: String, _ location: SourceLocation) {
        locations[path] = location
    }

    // MARK: Typed values. Each records an error at the node and returns nil when the node does not fit.

    /// A mapping, read key by key. `childPrefix` is what the keys' paths start with (defaults to `path`).
    func mapping(_ node: YAMLNode, path: String, childPrefix: String? = nil) -> MappingReader? {
        guard case .mapping(let pairs) = node.content else {
            fail(at: node.location, "\(path): expected a mapping, got \(node.summary)")
            return nil
        }
        return MappingReader(pairs: pairs, location: node.location, prefix: childPrefix ?? path, context: self)
    }

    /// Any scalar, as its text (a plain `1234` is the string "1234").
    func string(_ node: YAMLNode, _ path: String) -> String? {
        guard let scalar = node.scalar else {
            fail(at: node.location, "\(path): expected a string, got \(node.summary)")
            return nil
        }
        return scalar.text
    }

    /// A scalar with some text in it.
    func nonEmptyString(_ node: YAMLNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard !text.isEmpty else {
            fail(at: node.location, "\(path): must not be empty")
            return nil
        }
        return text
    }

    /// A string that may be `os.environ/NAME`, resolved against `environment`.
    func resolvedString(_ node: YAMLNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        switch EnvironmentReference.resolve(text, in: environment) {
        case .success(let value): return value
        case .failure(let problem):
            fail(at: node.location, "\(path): \(problem.message)")
            return nil
        }
    }

    /// A string that may be `os.environ/NAME`, checked and converted by `transform`.
    func resolvedString<Value>(_ node: YAMLNode, _ path: String, _ transform: (String) -> Result<Value, ConfigProblem>) -> Value? {
        guard let text = resolvedString(node, path) else { return nil }
        switch transform(text) {
        case .success(let value): return value
        case .failure(let problem):
            fail(at: node.location, "\(path): \(problem.message)")
            return nil
        }
    }

    /// A key: a non-empty string that may be `os.environ/NAME`.
    func secret(_ node: YAMLNode, _ path: String) -> Secret? {
        guard let value = resolvedString(node, path) else { return nil }
        guard !value.isEmpty else {
            fail(at: node.location, "\(path): must not be empty")
            return nil
        }
        return Secret(value)
    }

    func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        guard let value = node.scalar?.boolValue else {
            fail(at: node.location, "\(path): expected true or false, got \(node.summaryWhereTypeMatters)")
            return nil
        }
        return value
    }

    /// An integer of at least `minimum` (0 or 1).
    func integer(_ node: YAMLNode, _ path: String, minimum: Int = 1) -> Int? {
        guard let value = node.scalar?.intValue, value >= minimum else {
            let expected = minimum == 1 ? "a positive integer" : "an integer of at least \(minimum)"
            fail(at: node.location, "\(path): expected \(expected), got \(node.summaryWhereTypeMatters)")
            return nil
        }
        return value
    }

    /// Longest duration accepted, so that no value can overflow `Duration`: a year.
    static let maximumSeconds: Double = 365 * 24 * 3600

    /// A duration written as a number of seconds (`5`, `0.5`): positive, or also zero when `allowZero`.
    func seconds(_ node: YAMLNode, _ path: String, allowZero: Bool = false) -> Duration? {
        guard let value = node.scalar?.numberValue, allowZero ? value >= 0 : value > 0 else {
            let expected = allowZero ? "a number of seconds, 0 or more" : "a positive number"
            fail(at: node.location, "\(path): expected \(expected), got \(node.summaryWhereTypeMatters)")
            return nil
        }
        guard value <= Self.maximumSeconds else {
            fail(at: node.location, "\(path): at most \(Int(Self.maximumSeconds)) seconds (a year), got \(node.summary)")
            return nil
        }
        return .seconds(value)
    }

    /// A positive number of seconds.
    func positiveSeconds(_ node: YAMLNode, _ path: String) -> Duration? {
        seconds(node, path)
    }
}

/// The keys of one mapping, taken one by one; `warnAboutUnread` then flags every key nobody took.
///
/// A duplicated key keeps its last value, as PyYAML (and so LiteLLM) does, with a warning. A key
/// whose value is null (`key:`, `key: ~`) counts as absent: the default applies.
struct MappingReader {
    private struct Entry {
        var key: String
        var keyLocation: SourceLocation
        var value: YAMLNode
    }

    private let context: ConfigReadContext
    /// Where the mapping starts: where a missing key is reported.
    private let location: SourceLocation
    /// What the keys' paths start with: `timeouts`, `model_list[0].litellm_params`, or "".
    let prefix: String
    private var entries: [Entry] = []
    private var taken: Set<String> = []

    fileprivate init(pairs: [YAMLPair], location: SourceLocation, prefix: String, context: ConfigReadContext) {
        self.context = context
        self.location = location
        self.prefix = prefix
        for pair in pairs {
            guard let key = pair.key.scalar else {
                context.fail(at: pair.key.location, "\(prefix.isEmpty ? "" : prefix + ": ")keys must be plain names, got \(pair.key.summary)")
                continue
            }
            let entry = Entry(key: key.text, keyLocation: pair.key.location, value: pair.value)
            if let earlier = entries.firstIndex(where: { $0.key == key.text }) {
                context.warn(at: entries[earlier].keyLocation, "\(path(key.text)): duplicate key; the one at line \(entry.keyLocation.line) wins")
                entries[earlier] = entry
            } else {
                entries.append(entry)
            }
        }
    }

    /// The keys, in file order.
    var keys: [String] { entries.map(\.key) }

    /// The path of `key` in this mapping, for messages.
    func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    /// The value of `key`, or nil when it is absent or null. Marks the key as read.
    mutating func take(_ key: String) -> YAMLNode? {
        taken.insert(key)
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        context.record(path(key), entry.value.location)
        return entry.value
    }

    /// The value of `key` converted by `convert` (which records any error), or nil.
    mutating func take<Value>(_ key: String, _ convert: (YAMLNode, String) -> Value?) -> Value? {
        guard let node = take(key) else { return nil }
        return convert(node, path(key))
    }

    /// Like `take(_:_:)`, for a key that must be there: a missing (or null) one is an error at the
    /// start of the mapping, `path: missing; <hint>`.
    mutating func require<Value>(_ key: String, hint: String? = nil, _ convert: (YAMLNode, String) -> Value?) -> Value? {
        guard let node = take(key) else {
            context.fail(at: location, "\(path(key)): missing" + (hint.map { "; \($0)" } ?? ""))
            return nil
        }
        return convert(node, path(key))
    }

    /// Stores the converted value of `key` in `target` when present and valid; leaves the default otherwise.
    mutating func read<Value>(_ key: String, into target: inout Value, _ convert: (YAMLNode, String) -> Value?) {
        if let value = take(key, convert) { target = value }
    }

    /// Like `read(_:into:_:)`, for optional settings.
    mutating func read<Value>(_ key: String, into target: inout Value?, _ convert: (YAMLNode, String) -> Value?) {
        if let value = take(key, convert) { target = value }
    }

    /// Warns, at the key, about every key not taken: `path: <note>`.
    func warnAboutUnread(_ note: String) {
        for entry in entries where !taken.contains(entry.key) {
            context.warn(at: entry.keyLocation, "\(path(entry.key)): \(note)")
        }
    }
}
