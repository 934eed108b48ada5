// SPDX-License-Identifier: Apache-2.0
import CYAML

/// Reads one YAML document into a `YAMLNode` tree over libyaml's event API.
///
/// Every node gets the 1-based line and column it starts at. Aliases are resolved to copies of their
/// anchored node and merge keys (`<<`) applied, as PyYAML (and so LiteLLM) does. Syntax errors come
/// back as a `ConfigError` naming the place and libyaml's own description of the problem. Limits on
/// nesting depth and on the size after alias expansion keep a hostile file from exhausting memory or
/// the stack.
enum YAMLReader {
    /// Deepest nesting accepted; a configuration needs four or five levels.
    static let maximumDepth = 64
    /// Most nodes a document may have once every alias is expanded ("billion laughs" guard).
    static let maximumNodes = 100_000

    /// Parses `bytes` (UTF-8, UTF-16 with BOM) as a single YAML document named `file` in messages.
    /// Returns nil for a stream with no document at all (an empty file, or only comments).
    static func parse(_ bytes: [UInt8], file: String) throws(ConfigError) -> YAMLNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer {
            parser.deallocate()
            event.deallocate()
        }
        guard yaml_parser_initialize(parser) == 1 else {
            throw ConfigError(location: .wholeFile(file), message: "cannot initialise the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(parser) }

        let result: Result<YAMLNode?, ConfigError> = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var composer = Composer(file: file)
            while true {
                guard yaml_parser_parse(parser, event) == 1 else {
                    return .failure(syntaxError(parser.pointee, bytes: buffer, file: file))
                }
                defer { yaml_event_delete(event) }
                do throws(ConfigError) {
                    if try composer.consume(event.pointee) { return .success(composer.root) }
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }

    private static func syntaxError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>, file: String) -> ConfigError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return ConfigError(location: .wholeFile(file), message: "invalid YAML: out of memory")
        case YAML_READER_ERROR:
            // Encoding problems carry a byte offset rather than a mark.
            let location = location(ofByte: min(parser.problem_offset, bytes.count), in: bytes, file: file)
            var message = "invalid YAML: \(problem)"
            if parser.problem_value >= 0 {
                message += " (byte 0x\(String(parser.problem_value, radix: 16, uppercase: true)))"
            }
            return ConfigError(location: location, message: message)
        default:
            var message = "invalid YAML: \(problem)"
            if let context = parser.context {
                let mark = parser.context_mark
                message += " (\(String(cString: context)) at line \(mark.line + 1), column \(mark.column + 1))"
            }
            return ConfigError(location: Self.location(of: parser.problem_mark, file: file), message: message)
        }
    }

    /// libyaml marks are 0-based; diagnostics are 1-based.
    static func location(of mark: yaml_mark_t, file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
    }

    private static func location(ofByte offset: Int, in bytes: UnsafeBufferPointer<UInt8>, file: String) -> SourceLocation {
        var line = 1
        var column = 1
        for byte in bytes[0..<offset] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1  // count characters, not UTF-8 continuation bytes
            }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}

/// Builds nodes from the event stream: a stack of open collections, the anchors seen so far, and
/// counters for the depth and expansion limits.
private struct Composer {
    private struct OpenCollection {
        var isMapping: Bool
        var location: SourceLocation
        var anchor: String?
        var children: [YAMLNode] = []
        /// `nodeCount` before this collection started, to size it for its anchor.
        var nodeCountAtStart: Int
    }

    let file: String
    private(set) var root: YAMLNode?
    private var documents = 0
    private var stack: [OpenCollection] = []
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    private var nodeCount = 0

    init(file: String) { self.file = file }

    /// Takes one event; returns true at the end of the stream.
    mutating func consume(_ event: yaml_event_t) throws(ConfigError) -> Bool {
        let location = YAMLReader.location(of: event.start_mark, file: file)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw ConfigError(location: location, message: "only one YAML document is allowed; remove the second '---'")
            }
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor)
            guard let (node, size) = anchors[name] else {
                if stack.contains(where: { $0.anchor == name }) {
                    throw ConfigError(location: location, message: "alias *\(name) refers to a node that contains it; recursive YAML is not supported")
                }
                throw ConfigError(location: location, message: "alias *\(name) refers to an anchor &\(name) that is not defined before it")
            }
            try count(size, at: location)
            append(node)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let scalar = YAMLScalar(
                text: Self.string(data.value, length: data.length),
                style: Self.style(data.style),
                tag: data.tag.map { Self.string($0) }
            )
            try count(1, at: location)
            let node = YAMLNode(content: .scalar(scalar), location: location)
            if let anchor = data.anchor { anchors[Self.string(anchor)] = (node, 1) }
            append(node)
        case YAML_SEQUENCE_START_EVENT:
            try open(isMapping: false, anchor: event.data.sequence_start.anchor, at: location)
        case YAML_MAPPING_START_EVENT:
            try open(isMapping: true, anchor: event.data.mapping_start.anchor, at: location)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let collection = stack.removeLast()
            let node: YAMLNode
            if collection.isMapping {
                node = YAMLNode(content: .mapping(try Self.pairs(collection.children)), location: collection.location)
            } else {
                node = YAMLNode(content: .sequence(collection.children), location: collection.location)
            }
            if let anchor = collection.anchor { anchors[anchor] = (node, nodeCount - collection.nodeCountAtStart) }
            append(node)
        default:
            break  // stream start, document end: nothing to build
        }
        return false
    }

    private mutating func open(isMapping: Bool, anchor: UnsafeMutablePointer<yaml_char_t>?, at location: SourceLocation) throws(ConfigError) {
        guard stack.count < YAMLReader.maximumDepth else {
            throw ConfigError(location: location, message: "YAML nested deeper than \(YAMLReader.maximumDepth) levels")
        }
        let start = nodeCount
        try count(1, at: location)
        stack.append(OpenCollection(isMapping: isMapping, location: location, anchor: anchor.map { Self.string($0) }, nodeCountAtStart: start))
    }

    private mutating func count(_ nodes: Int, at location: SourceLocation) throws(ConfigError) {
        nodeCount += nodes
        if nodeCount > YAMLReader.maximumNodes {
            throw ConfigError(location: location, message: "YAML document has more than \(YAMLReader.maximumNodes) nodes once aliases are expanded")
        }
    }

    private mutating func append(_ node: YAMLNode) {
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }

    /// Pairs a mapping's alternating keys and values and applies merge keys: `<<: *base` (or a list
    /// of them) adds the keys of `base` the mapping does not set itself; earlier sources win.
    private static func pairs(_ children: [YAMLNode]) throws(ConfigError) -> [YAMLPair] {
        var explicit: [YAMLPair] = []
        var merged: [YAMLPair] = []
        for index in stride(from: 0, to: children.count - 1, by: 2) {
            let pair = YAMLPair(key: children[index], value: children[index + 1])
            guard let key = pair.key.scalar, key.isPlainUntagged || key.tag == "tag:yaml.org,2002:merge", key.text == "<<" else {
                explicit.append(pair)
                continue
            }
            let sources: [YAMLNode]
            switch pair.value.content {
            case .mapping: sources = [pair.value]
            case .sequence(let items): sources = items
            case .scalar: sources = []
            }
            for source in sources {
                guard case .mapping(let sourcePairs) = source.content else {
                    throw ConfigError(location: source.location, message: "a merge key '<<' takes a mapping or a list of mappings, got \(source.summary)")
                }
                for sourcePair in sourcePairs where !merged.contains(where: { sameKey($0.key, sourcePair.key) }) {
                    merged.append(sourcePair)
                }
            }
            if sources.isEmpty {
                throw ConfigError(location: pair.value.location, message: "a merge key '<<' takes a mapping or a list of mappings, got \(pair.value.summary)")
            }
        }
        return explicit + merged.filter { mergedPair in !explicit.contains { sameKey($0.key, mergedPair.key) } }
    }

    private static func sameKey(_ a: YAMLNode, _ b: YAMLNode) -> Bool {
        guard let a = a.scalar, let b = b.scalar else { return false }
        return a.text == b.text
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>) -> String {
        String(cString: pointer)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }
}
