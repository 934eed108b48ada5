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

    /// `path`: the request target without its query, for messages. Every rule comes from the route's
    /// row of ``Route/table``; errors take the row's shape.
    func verdict(for head: HTTPRequestHead, route: Route, path: String, requestID: String) -> Verdict {
        guard let row = route.row else {
            if overLimit { return .reject(Self.full(maxConnections: maxConnections, shape: .anthropic, requestID: requestID)) }
            return .reject(Rejection(status: 404, body: Self.notFound(method: head.method.rawValue, path: path).body(requestID: requestID)))
        }
        let shape = Self.shape(row.errorShape, head)
        func reject(_ error: AnthropicError, status: Int? = nil, headers: [(String, String)] = []) -> Verdict {
            .reject(Rejection(status: status ?? error.httpStatus, body: Self.body(error, shape: shape, requestID: requestID), headers: headers))
        }
        if overLimit, !row.servedWhenFull {
            return .reject(Self.full(maxConnections: maxConnections, shape: shape, requestID: requestID))
        }
        guard row.methods.contains(head.method) else {
            return reject(AnthropicError(.invalidRequest, "Method \(head.method.rawValue) is not allowed on \(path)"), status: 405, headers: [("allow", row.allow)])
        }
        if row.needsKey, !Authenticator.isAuthorized(head.headers, masterKey: masterKey) {
            return .reject(Self.unauthorized(head, shape: shape, requestID: requestID))
        }
        if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }), declared > maxBodyBytes {
            return reject(Self.tooLarge(maxBodyBytes: maxBodyBytes))
        }
        let expectation = head.headers["expect"]
        let expectsContinue = !expectation.isEmpty && expectation.allSatisfy { $0.lowercased() == "100-continue" }
        if !expectation.isEmpty, !expectsContinue {
            return reject(AnthropicError(.invalidRequest, "Only the expectation 100-continue is supported"), status: 417)
        }
        if row.refusedWhileDraining, draining {
            return reject(AnthropicError(.overloaded, "The bridge is draining and takes no new requests; retry shortly."), headers: [("x-should-retry", "true")])
        }
        return .accept(expectsContinue: expectsContinue)
    }

    /// The shape a row's errors take for this request: `byAnthropicVersion` settles on the header.
    static func shape(_ shape: Route.ErrorShape, _ head: HTTPRequestHead) -> Route.ErrorShape {
        guard shape == .byAnthropicVersion else { return shape }
        return head.headers["anthropic-version"].isEmpty ? .openAI : .anthropic
    }

    /// `error` as a body of `shape` (`byAnthropicVersion` already settled by ``shape(_:_:)``).
    static func body(_ error: AnthropicError, shape: Route.ErrorShape, requestID: String, openAICode: String? = nil) -> JSONValue {
        guard shape == .openAI else { return error.body(requestID: requestID) }
        let type = error.kind == .overloaded || error.kind == .api ? "server_error" : "invalid_request_error"
        return OpenAIErrorBody(message: error.message, type: type, code: openAICode).json
    }

    /// 503 on a connection accepted over `limits.max_connections`.
    private static func full(maxConnections: Int, shape: Route.ErrorShape, requestID: String) -> Rejection {
        let error = AnthropicError(.overloaded, "The bridge is serving its maximum number of connections (\(maxConnections)); retry shortly.")
        return Rejection(status: 503, body: body(error, shape: shape, requestID: requestID), headers: [("retry-after", "1"), ("x-should-retry", "true")])
    }

    /// 404 for a path the bridge does not serve.
    static func notFound(method: String, path: String) -> AnthropicError {
        AnthropicError(.notFound, "Not found: \(method) \(path)")
    }

    /// 413 for a body over `max_body_bytes`, declared or found while reading.
    static func tooLarge(maxBodyBytes: Int) -> AnthropicError {
        AnthropicError(.requestTooLarge, "Request exceeds the maximum allowed number of bytes (\(maxBodyBytes)).")
    }

    /// 401 in the route's error shape (OpenAI's carries `code: invalid_api_key`).
    private static func unauthorized(_ head: HTTPRequestHead, shape: Route.ErrorShape, requestID: String) -> Rejection {
        let message = head.headers["x-api-key"].isEmpty && head.headers["authorization"].isEmpty
            ? "x-api-key header is required" : "invalid x-api-key"
        let error = AnthropicError(.authentication, message)
        return Rejection(status: 401, body: body(error, shape: shape, requestID: requestID, openAICode: "invalid_api_key"))
    }
}
