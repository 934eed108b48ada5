// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Errors for OpenAI-API clients of the passthrough, in OpenAI's shape.
enum OpenAIError {
    static func body(message: String, type: String, code: String? = nil) -> JSONValue {
        ["error": ["message": .string(message), "type": .string(type), "param": .null, "code": code.map { .string($0) } ?? .null]]
    }
}
