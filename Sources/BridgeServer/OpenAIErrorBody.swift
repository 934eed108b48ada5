// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The body of an error for OpenAI-API clients (the passthrough, `/v1/models` without
/// `anthropic-version`): `{"error":{"message","type","param","code"}}`. A value to send, not a Swift `Error`.
struct OpenAIErrorBody: Sendable, Equatable {
    /// What went wrong, for a person.
    var message: String
    /// OpenAI's `error.type`: `invalid_request_error`, `server_error`…
    var type: String
    /// OpenAI's `error.code` (`invalid_api_key`, `model_not_found`…); `null` when nil.
    var code: String?

    /// The JSON body (`param` is always `null`: the bridge does not say which parameter was wrong).
    var json: JSONValue {
        ["error": ["message": .string(message), "type": .string(type), "param": .null, "code": code.map { .string($0) } ?? .null]]
    }
}
