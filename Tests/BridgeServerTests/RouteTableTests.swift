// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOHTTP1
import Testing
@testable import BridgeServer

/// The one route table: what each path answers, and the rules admission reads from it.
@Suite("the route table")
struct RouteTableTests {
    private static let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS]
    private let admission = RequestAdmission(masterKey: "sk-key", maxBodyBytes: 1000, draining: false, overLimit: false, maxConnections: 8)

    private func verdict(_ method: HTTPMethod, _ target: String, _ headers: [(String, String)] = [], with admission: RequestAdmission? = nil) -> RequestAdmission.Verdict {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: HTTPHeaders([("x-api-key", "sk-key")] + headers))
        let path = String(target.split(separator: "?").first ?? "")
        return (admission ?? self.admission).verdict(for: head, route: Route(target: target), path: path, requestID: "req_test")
    }

    private func rejection(_ verdict: RequestAdmission.Verdict) -> RequestAdmission.Rejection? {
        if case .reject(let rejection) = verdict { return rejection }
        return nil
    }

    @Test("every route but `other` has exactly one row, and each row's path routes to it")
    func oneRowPerRoute() {
        let routed = Route.table.map(\.route)
        #expect(routed.count == Set(routed).count)
        #expect(Set(routed) == Set(Route.allCases.filter { $0 != .other }))
        for row in Route.table {
            #expect(Route(target: row.route.rawValue) == row.route)
            #expect(Route(target: row.route.rawValue + "?x=1") == row.route)
            #expect(row.route.row?.route == row.route)
            #expect(row.route.metricsLabel == row.route.rawValue)
        }
        #expect(Route.other.row == nil && Route.other.metricsLabel == "other")
    }

    @Test("each row's methods are accepted and every other method is 405 with Allow listing the row's methods")
    func methodsAndAllow() throws {
        for row in Route.table {
            for method in Self.methods {
                let answer = rejection(verdict(method, row.route.rawValue))
                if row.methods.contains(method) {
                    #expect(answer == nil, "\(method) \(row.route.rawValue)")
                } else {
                    let answer = try #require(answer, "\(method) \(row.route.rawValue)")
                    #expect(answer.status == 405)
                    #expect(answer.headers.filter { $0.0 == "allow" }.map(\.1) == [row.methods.map(\.rawValue).joined(separator: ", ")])
                }
            }
        }
        #expect(Route.Row(.root, methods: [.GET, .HEAD], needsKey: false, readsBody: false, refusedWhileDraining: false, servedWhenFull: true, errorShape: .anthropic).allow == "GET, HEAD")
    }

    @Test("an unknown path is 404 not_found_error in Anthropic's shape, whatever the method")
    func unknownPath() throws {
        for method in Self.methods {
            for target in ["/v2/messages", "/v1/messages/", "/health/x", "", "other", "/V1/MESSAGES"] {
                let answer = try #require(rejection(verdict(method, target)))
                #expect(answer.status == 404)
                #expect(answer.body["error"]?["type"] == "not_found_error")
                #expect(answer.headers.isEmpty)
            }
        }
    }

    @Test("the key is asked for exactly on the rows that need it")
    func key() {
        let keyless = RequestAdmission(masterKey: "sk-key", maxBodyBytes: 1000, draining: false, overLimit: false, maxConnections: 8)
        for row in Route.table {
            let head = HTTPRequestHead(version: .http1_1, method: row.methods[0], uri: row.route.rawValue)
            let answer = rejection(keyless.verdict(for: head, route: row.route, path: row.route.rawValue, requestID: "req_test"))
            #expect((answer?.status == 401) == row.needsKey, "\(row.route.rawValue)")
        }
    }

    @Test("while draining exactly the rows that start backend work are refused, 529 overloaded_error")
    func drain() {
        var draining = admission
        draining.draining = true
        for row in Route.table {
            let answer = rejection(verdict(row.methods[0], row.route.rawValue, with: draining))
            #expect((answer?.status == 529) == row.refusedWhileDraining, "\(row.route.rawValue)")
            #expect(row.refusedWhileDraining == row.readsBody)
        }
    }

    @Test("over the connection limit exactly the rows served when full are answered; the rest and unknown paths are 503")
    func full() {
        var full = admission
        full.overLimit = true
        for row in Route.table {
            let answer = rejection(verdict(row.methods[0], row.route.rawValue, with: full))
            #expect((answer?.status == 503) == !row.servedWhenFull, "\(row.route.rawValue)")
        }
        #expect(rejection(verdict(.GET, "/nowhere", with: full))?.status == 503)
    }

    @Test("errors at the head take the row's shape: OpenAI's on the passthrough, the client's on /v1/models")
    func errorShapes() throws {
        let passthrough = try #require(rejection(verdict(.GET, "/v1/chat/completions")))
        #expect(passthrough.status == 405)
        #expect(passthrough.body["type"] == nil && passthrough.body["error"]?["type"] == "invalid_request_error")
        #expect(passthrough.body["error"]?["param"] == .null)
        let tooLarge = try #require(rejection(verdict(.POST, "/v1/chat/completions", [("content-length", "1001")])))
        #expect(tooLarge.status == 413 && tooLarge.body["error"]?["type"] == "invalid_request_error")
        let anthropic = try #require(rejection(verdict(.POST, "/v1/models", [("anthropic-version", "2023-06-01")])))
        #expect(anthropic.body["type"] == "error" && anthropic.body["error"]?["type"] == "invalid_request_error")
        let openAI = try #require(rejection(verdict(.POST, "/v1/models")))
        #expect(openAI.body["type"] == nil && openAI.body["error"]?["code"] == .null)
        let messages = try #require(rejection(verdict(.GET, "/v1/messages")))
        #expect(messages.body["type"] == "error" && messages.body["request_id"] == "req_test")
        var draining = admission
        draining.draining = true
        let drained = try #require(rejection(verdict(.POST, "/v1/chat/completions", with: draining)))
        #expect(drained.status == 529 && drained.body["error"]?["type"] == "server_error")
    }

    @Test("the row's error shape settles on anthropic-version only for /v1/models")
    func shapeBySettlement() {
        let bare = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/models")
        let anthropic = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/models", headers: ["anthropic-version": "2023-06-01"])
        #expect(RequestAdmission.shape(.byAnthropicVersion, bare) == .openAI)
        #expect(RequestAdmission.shape(.byAnthropicVersion, anthropic) == .anthropic)
        #expect(RequestAdmission.shape(.openAI, anthropic) == .openAI)
        #expect(RequestAdmission.shape(.anthropic, bare) == .anthropic)
    }
}
