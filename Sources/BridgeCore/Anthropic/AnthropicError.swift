// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// An error as an Anthropic client receives it: an HTTP status and
/// `{"type":"error","error":{"type":…,"message":…}}`.
public struct AnthropicError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `error.type` values of the Anthropic API, with the HTTP status each is sent with.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case invalidRequest = "invalid_request_error"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case notFound = "not_found_error"
        case requestTooLarge = "request_too_large"
        case rateLimit = "rate_limit_error"
        case api = "api_error"
        case overloaded = "overloaded_error"

        /// The HTTP status Anthropic answers this kind of error with.
        public var httpStatus: Int {
            switch self {
            case .invalidRequest: 400
            case .authentication: 401
            case .permission: 403
            case .notFound: 404
            case .requestTooLarge: 413
            case .rateLimit: 429
            case .api: 500
            case .overloaded: 529
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var httpStatus: Int { kind.httpStatus }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The JSON body, with `request_id` when one is given (Anthropic sends it on errors).
    public func body(requestID: String? = nil) -> JSONValue {
        var object: JSONObject = [
            "type": "error",
            "error": ["type": .string(kind.rawValue), "message": .string(message)],
        ]
        if let requestID { object["request_id"] = .string(requestID) }
        return .object(object)
    }

    /// The `error` event that ends a stream which cannot finish normally.
    public var streamEvent: AnthropicStreamEvent { .error(self) }
}
