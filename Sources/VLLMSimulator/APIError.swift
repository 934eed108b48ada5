// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// An error response as vLLM's OpenAI server writes it (`ErrorResponse` / `ErrorInfo`).
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status, also written as `code`.
    public var status: Int
    /// vLLM's error type name, e.g. `BadRequestError`.
    public var type: String
    /// The human-readable message.
    public var message: String
    /// `null` or the offending parameter's name.
    public var param: JSONValue

    /// An error; `type` defaults to vLLM's name for `status`.
    public init(status: Int, message: String, type: String? = nil, param: JSONValue = .null) {
        self.status = status
        self.type = type ?? APIError.typeName(forStatus: status)
        self.message = message
        self.param = param
    }

    /// vLLM's error type names by status; other statuses get a name made from the reason phrase.
    public static func typeName(forStatus status: Int) -> String {
        switch status {
        case 400: "BadRequestError"
        case 401: "UnauthorizedError"
        case 403: "ForbiddenError"
        case 404: "NotFoundError"
        case 408: "RequestTimeoutError"
        case 413: "RequestEntityTooLargeError"
        case 422: "UnprocessableEntityError"
        case 429: "TooManyRequestsError"
        case 500: "InternalServerError"
        case 501: "NotImplementedError"
        case 502: "BadGatewayError"
        case 503: "ServiceUnavailableError"
        case 504: "GatewayTimeoutError"
        default: status >= 500 ? "InternalServerError" : "BadRequestError"
        }
    }

    /// The error as a JSON object in `format`, member order as vLLM's pydantic models.
    public func jsonValue(format: ErrorFormat) -> JSONValue {
        switch format {
        case .new:
            ["error": ["message": .string(message), "type": .string(type), "param": param, "code": .int(status)]]
        case .old:
            ["object": "error", "message": .string(message), "type": .string(type), "param": param, "code": .int(status)]
        }
    }

    /// The HTTP response body: compact JSON (Starlette's `JSONResponse`).
    public func body(format: ErrorFormat) -> [UInt8] { jsonValue(format: format).jsonBytes }

    /// The payload of a mid-stream `data:` error event: Python `json.dumps` style
    /// (`create_streaming_error_response`).
    public func streamingPayload(format: ErrorFormat) -> String {
        PythonJSON.dumps(jsonValue(format: format), ensureASCII: true)
    }
}

extension APIError {
    /// The 400 for a prompt that alone exceeds the window (vLLM 0.15 wording).
    static func promptTooLong(maxModelLen: Int, promptTokens: Int) -> APIError {
        APIError(
            status: 400,
            message: "This model's maximum context length is \(maxModelLen) tokens. However, your request has "
                + "\(promptTokens) input tokens. Please reduce the length of the input messages. "
                + "(parameter=input_tokens, value=\(promptTokens))",
            param: "input_tokens"
        )
    }

    /// The 400 for a prompt plus `max_tokens` that exceed the window (vLLM ~0.10 wording). Both counts
    /// are at least 0, so their sum, exact in Python, is exact in `UInt64` too.
    static func requestTooLong(maxModelLen: Int, promptTokens: Int, maxTokens: Int) -> APIError {
        APIError(
            status: 400,
            message: "This model's maximum context length is \(maxModelLen) tokens. However, you requested "
                + "\(UInt64(promptTokens) + UInt64(maxTokens)) tokens (\(promptTokens) in the messages, \(maxTokens) in the completion). "
                + "Please reduce the length of the messages or completion."
        )
    }

    /// The 404 for a model the server does not serve.
    static func unknownModel(_ name: String) -> APIError {
        APIError(status: 404, message: "The model `\(name)` does not exist.")
    }

    /// A 400 for a malformed request.
    static func badRequest(_ message: String, param: JSONValue = .null) -> APIError {
        APIError(status: 400, message: message, param: param)
    }
}
