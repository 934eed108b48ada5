// SPDX-License-Identifier: Apache-2.0
@testable import BridgeConfig
import Testing

@Suite("YAML reader over libyaml")
struct YAMLReaderTests {
    private func parse(_ text: String) throws(ConfigError) -> YAMLNode? {
        try YAMLReader.parse(Array(text.utf8), file: "test.yaml")
    }

    /// The error reading `bytes` gives, or nil when they parse.
    private func parseError(_ bytes: [UInt8]) -> ConfigError? {
        do {
            _ = try YAMLReader.parse(bytes, file: "test.yaml")
            return nil
        } catch {
            return error
        }
    }

    private func parseError(_ text: String) -> ConfigError? { parseError(Array(text.utf8)) }

    private func mapping(_ node: YAMLNode?) -> [(String, YAMLNode)] {
        guard case .mapping(let pairs)? = node?.content else { return [] }
        return pairs.map { ($0.key.scalar?.text ?? "?", $0.value) }
    }

    private func value(_ node: YAMLNode?, _ key: String) -> YAMLNode? {
        mapping(node).first { $0.0 == key }?.1
    }

    @Test("every node carries its 1-based line and column")
    func marksAreOneBased() throws {
        let root = try parse("top:\n  list:\n    - a\n    - {k: v}\n")
        #expect(root?.location == SourceLocation(file: "test.yaml", line: 1, column: 1))
        let list = value(value(root, "top"), "list")
        #expect(list?.location.line == 3)
        #expect(list?.location.column == 5)
        guard case .sequence(let items)? = list?.content else {
            Issue.record("list is not a sequence")
            return
        }
        #expect(items[0].location == SourceLocation(file: "test.yaml", line: 3, column: 7))
        #expect(items[1].location == SourceLocation(file: "test.yaml", line: 4, column: 7))
        #expect(value(items[1], "k")?.location == SourceLocation(file: "test.yaml", line: 4, column: 11))
    }

    @Test("a syntax error names the exact line and column and libyaml's problem text")
    func syntaxErrorLocation() {
        #expect(parseError("model_list:\n  - model_name: a\n    litellm_params: x: y\n")?.description
            == "test.yaml:3:22: invalid YAML: mapping values are not allowed in this context")
    }

    @Test("a parser error also names the construct it was reading and where that started")
    func syntaxErrorContext() {
        #expect(parseError("a:\n  - b\n  c: d\n")?.description
            == "test.yaml:3:3: invalid YAML: did not find expected '-' indicator (while parsing a block collection at line 2, column 3)")
    }

    @Test("invalid UTF-8 is reported at the line and column of the bad byte")
    func invalidUTF8() {
        #expect(parseError(Array("a: b\nc: d".utf8) + [0xFF])?.description
            == "test.yaml:2:5: invalid YAML: invalid leading UTF-8 octet (byte 0xFF)")
    }

    @Test("a quoted scalar stays a string; a plain one is resolved by its text")
    func quotedVersusPlain() throws {
        let root = try parse("plain: 123\nquoted: \"123\"\nsingle: 'true'\nbool: yes\ntext: abc\n")
        #expect(value(root, "plain")?.scalar?.intValue == 123)
        #expect(value(root, "quoted")?.scalar?.intValue == nil)
        #expect(value(root, "quoted")?.scalar?.text == "123")
        #expect(value(root, "single")?.scalar?.boolValue == nil)
        #expect(value(root, "bool")?.scalar?.boolValue == true)
        #expect(value(root, "text")?.scalar?.numberValue == nil)
        #expect(value(root, "quoted")?.summaryWhereTypeMatters == "\"123\" (a string)")
        #expect(value(root, "plain")?.summaryWhereTypeMatters == "\"123\"")
        #expect(value(root, "text")?.summary == "\"abc\"")
    }

    @Test("~, null, and an empty value are null; a quoted \"~\" or \"null\" is not")
    func nulls() throws {
        let root = try parse("a: ~\nb: null\nc:\nd: \"~\"\ne: 'null'\nf: !!null x\n")
        #expect(["a", "b", "c", "f"].allSatisfy { value(root, $0)?.isNull == true })
        #expect(value(root, "d")?.isNull == false)
        #expect(value(root, "e")?.isNull == false)
    }

    @Test("aliases are replaced by their anchored node, location included")
    func aliasesResolve() throws {
        let root = try parse("base: &b http://h:1/v1\nother: *b\n")
        #expect(value(root, "other")?.scalar?.text == "http://h:1/v1")
        #expect(value(root, "other")?.location.line == 1)
    }

    @Test("merge keys add the anchored mapping's keys the mapping does not set itself")
    func mergeKeys() throws {
        let root = try parse("defaults: &d {api_base: x, api_key: k}\nentry:\n  <<: *d\n  api_key: mine\n")
        let entry = value(root, "entry")
        #expect(value(entry, "api_base")?.scalar?.text == "x")
        #expect(value(entry, "api_key")?.scalar?.text == "mine")
        #expect(mapping(entry).count == 2)
    }

    @Test("an alias to an undefined anchor, or to a node that contains it, is a clear error")
    func badAliases() {
        #expect(parseError("a: *nowhere\n")?.description
            == "test.yaml:1:4: alias *nowhere refers to an anchor &nowhere that is not defined before it")
        #expect(parseError("a: &loop [1, *loop]\n")?.message.contains("recursive") == true)
    }

    @Test("alias expansion beyond the node limit is refused (billion laughs)")
    func aliasBomb() {
        var text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            let previous = "*l\(level - 1)"
            text += "l\(level): &l\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        #expect(parseError(text)?.message.contains("more than 100000 nodes") == true)
    }

    @Test("nesting past the depth limit is an error, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(parseError(deep)?.message == "YAML nested deeper than 64 levels")
    }

    @Test("a second document is refused; an empty stream has no root")
    func documents() throws {
        #expect(parseError("a: 1\n---\nb: 2\n")?.description == "test.yaml:2:1: only one YAML document is allowed; remove the second '---'")
        #expect(try parse("# only a comment\n") == nil)
    }
}
