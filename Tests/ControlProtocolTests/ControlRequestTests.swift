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
            == #"unknown verb "restart"; expected one of status, health, aliases, reload, drain, resume, activity, trace"#)
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
