// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation
import Testing

@Suite("Control requests on the wire")
struct ControlRequestTests {
    static let everyRequest: [ControlRequest] = [
        .status, .health, .aliases, .reload,
        .drain(), .drain(timeoutSeconds: 2.5), .drain(timeoutSeconds: 30, backend: "10.0.0.2:8000"),
        .resume(), .resume(backend: "10.0.0.2:8000"),
    ]

    @Test("every request survives its JSON line unchanged", arguments: everyRequest)
    func roundTrip(_ request: ControlRequest) throws {
        let line = request.encodedLine()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
        #expect(try ControlRequest.parse(line.dropLast()) == request)
    }

    @Test("a drain request is a flat object: version, verb, timeout_seconds, backend")
    func drainShape() throws {
        let line = ControlRequest.drain(timeoutSeconds: 30, backend: "h:8888").encodedLine()
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object.count == 4)
        #expect(object["version"] as? Int == 1)
        #expect(object["verb"] as? String == "drain")
        #expect(object["timeout_seconds"] as? Double == 30)
        #expect(object["backend"] as? String == "h:8888")
    }

    @Test("a verb without arguments sends only version and verb")
    func statusShape() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: ControlRequest.status.encodedLine()) as? [String: Any])
        #expect(Set(object.keys) == ["version", "verb"])
    }

    @Test("a hand-written line parses; arguments a verb does not take are ignored, null is absent")
    func handWritten() throws {
        #expect(try parse(#"{"verb":"status","version":1,"backend":"x"}"#) == .status)
        #expect(try parse(#"{"version":1,"verb":"drain","timeout_seconds":null}"#) == .drain())
        #expect(try parse(#"{"version":1,"verb":"drain","timeout_seconds":0}"#) == .drain(timeoutSeconds: 0))
        #expect(try parse(#"{"version":1,"verb":"resume","backend":"b"}"#) == .resume(backend: "b"))
    }

    @Test("lines that are not a request object are malformed", arguments: [
        "not json", "[1,2]", "\"status\"", #"{"verb":"status"}"#, #"{"version":"1","verb":"status"}"#,
        #"{"version":1}"#, #"{"version":1,"verb":7}"#, "",
    ])
    func malformed(_ line: String) {
        #expect(throws: ControlRequestError.self) { try parse(line) }
        do {
            _ = try parse(line)
        } catch {
            guard case .malformed = error else { Issue.record("expected .malformed for \(line), got \(error)"); return }
        }
    }

    @Test("another protocol version is named as such, before the verb is looked at")
    func unsupportedVersion() {
        #expect(throws: ControlRequestError.unsupportedVersion(2)) { try parse(#"{"version":2,"verb":"teleport"}"#) }
        #expect(ControlRequestError.unsupportedVersion(2).description == "unsupported control protocol version 2; this daemon speaks version 1")
    }

    @Test("an unknown verb is named, with the verbs there are")
    func unknownVerb() {
        #expect(throws: ControlRequestError.unknownVerb("restart")) { try parse(#"{"version":1,"verb":"restart"}"#) }
        #expect(ControlRequestError.unknownVerb("restart").description
            == #"unknown verb "restart"; expected one of status, health, aliases, reload, drain, resume, activity, trace, claude_env"#)
    }

    @Test("bad arguments are refused with the argument's name", arguments: [
        (#"{"version":1,"verb":"drain","timeout_seconds":"soon"}"#, "timeout_seconds"),
        (#"{"version":1,"verb":"drain","timeout_seconds":-1}"#, "timeout_seconds"),
        (#"{"version":1,"verb":"drain","backend":5}"#, "backend"),
        (#"{"version":1,"verb":"resume","backend":""}"#, "backend"),
    ])
    func invalidArgument(_ line: String, _ argument: String) {
        do {
            _ = try parse(line)
            Issue.record("\(line) parsed")
        } catch {
            guard case .invalidArgument(let why) = error else { Issue.record("expected .invalidArgument, got \(error)"); return }
            #expect(why.contains(argument))
        }
    }

    private func parse(_ text: String) throws(ControlRequestError) -> ControlRequest {
        try ControlRequest.parse(Array(text.utf8))
    }
}

@Suite("sparkctl env: Claude Code settings from the backend's window")
struct ClaudeCodeEnvironmentTests {
    @Test("a 32k window: 8192 output tokens, the 100k minimum compact window, a percentage that compacts below the window")
    func window32k() {
        let settings = ClaudeCodeEnvironment.settings(window: 32768)
        #expect(settings.maxOutputTokens == 8192)
        #expect(settings.compactWindow == 100_000)
        #expect(settings.compactPercent == 23)
        // Claude Code 2.1.332: effective = 100000 − min(8192, 20000); threshold = effective × 23 / 100.
        #expect(settings.compactThreshold == 21115)
        #expect(settings.compactThreshold + settings.maxOutputTokens <= 32768)
    }

    @Test("a 131k window: 32000 output tokens, the window itself, compaction before window − output")
    func window131k() {
        let settings = ClaudeCodeEnvironment.settings(window: 131_072)
        #expect(settings.maxOutputTokens == 32000)
        #expect(settings.compactWindow == 131_072)
        #expect(settings.compactPercent == 77)
        #expect(settings.compactThreshold + settings.maxOutputTokens <= 131_072)
    }

    @Test("every window leaves room for the output asked for")
    func allWindowsFit() {
        for window in stride(from: 2048, through: 1_048_576, by: 4096) {
            let settings = ClaudeCodeEnvironment.settings(window: window)
            #expect(settings.compactThreshold + settings.maxOutputTokens <= window, "window \(window)")
            #expect((1...100).contains(settings.compactPercent))
        }
    }

    static func report(keyRequired: Bool = false, key: String? = nil, window: Int? = 32768) -> ClaudeEnvReport {
        ClaudeEnvReport(
            baseURL: "http://127.0.0.1:4000", keyRequired: keyRequired, key: key, model: "claude-opus-5-5",
            opusModel: "claude-opus-5-5", sonnetModel: "claude-sonnet-5-5", haikuModel: "it's local", contextWindow: window
        )
    }

    @Test("exports: base URL, names (quoted when needed), limits; a placeholder key when none is checked")
    func exports() {
        let text = ClaudeCodeEnvironment.exports(Self.report())
        #expect(text.contains("export ANTHROPIC_BASE_URL=http://127.0.0.1:4000\n"))
        #expect(text.contains("export ANTHROPIC_API_KEY=spark-bridge-local\n"))
        #expect(text.contains("export ANTHROPIC_MODEL=claude-opus-5-5\n"))
        #expect(text.contains(#"export ANTHROPIC_DEFAULT_HAIKU_MODEL='it'\''s local'"#))
        #expect(text.contains("export CLAUDE_CODE_MAX_OUTPUT_TOKENS=8192\n"))
        #expect(text.contains("export CLAUDE_CODE_AUTO_COMPACT_WINDOW=100000\n"))
        #expect(text.contains("export CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=23\n"))
    }

    @Test("a master key: the variable is required, the key printed only when asked for")
    func keys() {
        let required = ClaudeCodeEnvironment.exports(Self.report(keyRequired: true))
        #expect(required.contains(#"export ANTHROPIC_API_KEY="${ANTHROPIC_API_KEY:?"#))
        #expect(!required.contains("sk-secret"))
        let given = ClaudeCodeEnvironment.exports(Self.report(keyRequired: true, key: "sk-secret"))
        #expect(given.contains("export ANTHROPIC_API_KEY=sk-secret\n"))
    }

    @Test("no window reported yet: no limits, and a comment that says why")
    func noWindow() {
        let text = ClaudeCodeEnvironment.exports(Self.report(window: nil))
        #expect(!text.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS") && text.contains("# No backend has reported"))
    }

    @Test("claude_env on the wire: alias and with_key round-trip; an empty alias is refused")
    func wire() throws {
        let request = ControlRequest.claudeEnv(alias: "local", withKey: true)
        let line = request.encodedLine()
        #expect(try ControlRequest.parse(Array(line.dropLast())) == request)
        #expect(String(decoding: line, as: UTF8.self).contains(#""verb":"claude_env""#))
        #expect(try ControlRequest.parse(Array(#"{"version":1,"verb":"claude_env"}"#.utf8)) == .claudeEnv(alias: nil, withKey: false))
        #expect(throws: ControlRequestError.self) { try ControlRequest.parse(Array(#"{"version":1,"verb":"claude_env","alias":""}"#.utf8)) }
    }
}
