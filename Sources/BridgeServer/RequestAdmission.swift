// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import NIOHTTP1

/// What the bridge decides from a request's head alone, before a byte of its body is read: an
/// unknown path, a wrong method, a missing key, a declared body over `max_body_bytes`, an `Expect`
/// it cannot meet, a drain or a full bridge are answered at once, so no body is buffered for them.
struct RequestAdmission {
    /// The answer to send at once.
    struct Rejection {
        var status: Int
        var body: JSONValue
        var headers: [(String, String)] = []
    }

    enum Verdict {
        /// Read the body (`expectsContinue`: answer `100 Continue` first).
        case accept(expectsContinue: Bool)
        case reject(Rejection)
    }

    var masterKey: String?
    var maxBodyBytes: Int
    var draining: Bool
    /// The connection was accepted over `limits.max_connections`.
    var overLimit: Bool
    var maxConnections: Int

    /// Methods each route answers.
    static func allows(_ method: HTTPMethod, on route: Route) -> Bool {
        switch route {
        case .root, .health: method == .GET || method == .HEAD
        case .metrics, .models: method == .GET
        case .messages, .countTokens, .chatCompletions: method == .POST
        case .other: true
        }
    }

    /// `path`: the request target without its query, for messages.
    func verdict(for head: HTTPRequestHead, route: Route, path: String, requestID: String) -> Verdict {
        func reject(_ error: AnthropicError, status: Int? = nil, headers: [(String, String)] = []) -> Verdict {
            .reject(Rejection(status: status ?? error.httpStatus, body: error.body(requestID: requestID), headers: headers))
        }
        if overLimit, !route.servedWhenFull {
            return reject(
                AnthropicError(.overloaded, "The bridge is serving its maximum number of connections (\(maxConnections)); retry shortly."),
                status: 503, headers: [("retry-after", "1"), ("x-should-retry", "true")]
            )
        }
        guard route != .other else {
            return reject(Self.notFound(method: head.method.rawValue, path: path))
        }
        guard Self.allows(head.method, on: route) else {
            return reject(AnthropicError(.invalidRequest, "Method \(head.method.rawValue) is not allowed on \(path)"), status: 405)
        }
        if route.needsKey, !Authenticator.isAuthorized(head.headers, masterKey: masterKey) {
            return .reject(Self.unauthorized(head, route: route, requestID: requestID))
        }
        if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }), declared > maxBodyBytes {
            return reject(Self.tooLarge(maxBodyBytes: maxBodyBytes))
        }
        let expectation = head.headers["expect"]
        let expectsContinue = !expectation.isEmpty && expectation.allSatisfy { $0.lowercased() == "100-continue" }
        if !expectation.isEmpty, !expectsContinue {
            return reject(AnthropicError(.invalidRequest, "Only the expectation 100-continue is supported"), status: 417)
        }
        if route.readsBody, draining {
            return reject(AnthropicError(.overloaded, "The bridge is draining and takes no new requests; retry shortly."), headers: [("x-should-retry", "true")])
        }
        return .accept(expectsContinue: expectsContinue)
    }

    /// 404 for a path the bridge does not serve.
    static func notFound(method: String, path: String) -> AnthropicError {
        AnthropicError(.notFound, "Not found: \(method) \(path)")
    }

    /// 413 for a body over `max_body_bytes`, declared or found while reading.
    static func tooLarge(maxBodyBytes: Int) -> AnthropicError {
        AnthropicError(.requestTooLarge, "Request exceeds the maximum allowed number of bytes (\(maxBodyBytes)).")
    }

    /// 401 in the client's own shape: OpenAI's for `/v1/chat/completions` and for `/v1/models` without
    /// `anthropic-version`, Anthropic's otherwise.
    private static func unauthorized(_ head: HTTPRequestHead, route: Route, requestID: String) -> Rejection {
        let message = head.headers["x-api-key"].isEmpty && head.headers["authorization"].isEmpty
            ? "x-api-key header is required" : "invalid x-api-key"
        if route == .chatCompletions || (route == .models && head.headers["anthropic-version"].isEmpty) {
            return Rejection(status: 401, body: OpenAIError.body(message: message, type: "invalid_request_error", code: "invalid_api_key"))
        }
        return Rejection(status: 401, body: AnthropicError(.authentication, message).body(requestID: requestID))
    }
}
