// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOHTTP1
import Testing
@testable import BridgeServer

/// What is answered from a request's head alone, before any of its body is read.
@Suite("request admission at the head")
struct RequestAdmissionTests {
    private let admission = RequestAdmission(masterKey: "sk-key", maxBodyBytes: 1000, draining: false, overLimit: false, maxConnections: 8)

    private func head(_ method: HTTPMethod, _ path: String, _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: HTTPHeaders(headers))
    }

    private func status(_ verdict: RequestAdmission.Verdict) -> Int? {
        if case .reject(let rejection) = verdict { return rejection.status }
        return nil
    }

    private func verdict(_ head: HTTPRequestHead, with admission: RequestAdmission? = nil) -> RequestAdmission.Verdict {
        let path = String(head.uri.split(separator: "?").first ?? "")
        return (admission ?? self.admission).verdict(for: head, route: Route(target: path), path: path, requestID: "req_test")
    }

    @Test("no key or a wrong key is 401 at the head, whatever body is announced")
    func unauthorized() throws {
        let keyless = verdict(head(.POST, "/v1/messages", [("content-length", "33554431"), ("anthropic-version", "2023-06-01")]))
        guard case .reject(let rejection) = keyless else { Issue.record("accepted"); return }
        #expect(rejection.status == 401)
        #expect(rejection.body["error"]?["type"] == "authentication_error")
        #expect(status(verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-wrong")]))) == 401)
        #expect(status(verdict(head(.POST, "/v1/chat/completions", [("authorization", "Bearer nope")]))) == 401)
        if case .accept(let expects) = verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key")])) { #expect(!expects) } else { Issue.record("rejected") }
    }

    @Test("a declared body over max_body_bytes is 413 before it is read")
    func declaredTooLarge() {
        #expect(status(verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key"), ("content-length", "1001")]))) == 413)
        #expect(status(verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key"), ("content-length", "1000")]))) == nil)
    }

    @Test("Expect: 100-continue is accepted with a continue only once the head passes; other expectations are 417")
    func expectations() {
        guard case .accept(let expects) = verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key"), ("expect", "100-Continue")])) else {
            Issue.record("rejected"); return
        }
        #expect(expects)
        #expect(status(verdict(head(.POST, "/v1/messages", [("expect", "100-continue")]))) == 401)
        #expect(status(verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key"), ("expect", "200-ok")]))) == 417)
    }

    @Test("unknown paths are 404 and wrong methods 405, both without reading a body")
    func routing() {
        #expect(status(verdict(head(.POST, "/probe-1"))) == 404)
        #expect(status(verdict(head(.GET, "/v1/messages"))) == 405)
        #expect(status(verdict(head(.GET, "/health"))) == nil)
        #expect(status(verdict(head(.GET, "/health?verbose=1"))) == nil)
    }

    @Test("over the connection limit only /health, / and /metrics are answered; the rest is 503 overloaded_error")
    func overLimit() throws {
        var full = admission
        full.overLimit = true
        #expect(status(verdict(head(.GET, "/health"), with: full)) == nil)
        #expect(status(verdict(head(.GET, "/metrics"), with: full)) == nil)
        guard case .reject(let rejection) = verdict(head(.POST, "/v1/messages", [("x-api-key", "sk-key")]), with: full) else {
            Issue.record("accepted"); return
        }
        #expect(rejection.status == 503)
        #expect(rejection.body["error"]?["type"] == "overloaded_error")
        #expect(rejection.headers.contains { $0 == ("retry-after", "1") })
    }

    @Test("metric labels come from closed sets: any path is a Route, any status a StatusLabel")
    func closedLabels() {
        let routes = Set((0..<1000).map { Route(target: "/probe-\($0)") } + [Route(target: "other"), Route(target: "/v1/messages/x")])
        #expect(routes == [.other])
        #expect(Route(target: "/v1/messages?beta=true") == .messages)
        let statuses = Set((0..<2000).map(StatusLabel.of))
        #expect(statuses.count <= StatusLabel.known.count + 6)
        #expect(StatusLabel.of(404) == "404" && StatusLabel.of(418) == "4xx" && StatusLabel.of(999) == "other")
    }
}
