// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// Typed access to request fields; every failure is a 400 `invalid_request_error` naming the field's
/// path the way Anthropic does (`messages.0.content.1.source: Field required`).
enum FieldReader {
    static func invalid(_ path: String, _ problem: String) -> AnthropicError {
        AnthropicError(.invalidRequest, path.isEmpty ? problem : "\(path): \(problem)")
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func object(_ value: JSONValue, at path: String) throws(AnthropicError) -> JSONObject {
        guard case .object(let object) = value else {
            throw invalid(path, "Input should be an object, got \(value.typeName)")
        }
        return object
    }

    static func requiredString(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> String {
        guard let value = object[key] else { throw invalid(join(path, key), "Field required") }
        guard case .string(let string) = value else { throw invalid(join(path, key), "Input should be a valid string, got \(value.typeName)") }
        return string
    }

    static func optionalString(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .string(let string) = value else { throw invalid(join(path, key), "Input should be a valid string, got \(value.typeName)") }
        return string
    }

    static func requiredInt(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> Int {
        guard let value = object[key] else { throw invalid(join(path, key), "Field required") }
        guard let int = value.intValue else { throw invalid(join(path, key), "Input should be a valid integer, got \(value.typeName)") }
        return int
    }

    static func optionalInt(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let int = value.intValue else { throw invalid(join(path, key), "Input should be a valid integer, got \(value.typeName)") }
        return int
    }

    static func optionalNumber(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .number = value else { throw invalid(join(path, key), "Input should be a valid number, got \(value.typeName)") }
        return value
    }

    static func optionalBool(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .bool(let flag) = value else { throw invalid(join(path, key), "Input should be a valid boolean, got \(value.typeName)") }
        return flag
    }

    static func requiredArray(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> [JSONValue] {
        guard let value = object[key] else { throw invalid(join(path, key), "Field required") }
        guard case .array(let array) = value else { throw invalid(join(path, key), "Input should be a valid list, got \(value.typeName)") }
        return array
    }

    static func optionalArray(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> [JSONValue]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .array(let array) = value else { throw invalid(join(path, key), "Input should be a valid list, got \(value.typeName)") }
        return array
    }

    static func optionalStringArray(_ object: JSONObject, _ key: String, at path: String) throws(AnthropicError) -> [String]? {
        guard let array = try optionalArray(object, key, at: path) else { return nil }
        return try array.enumerated().map { index, element throws(AnthropicError) in
            guard case .string(let string) = element else {
                throw invalid("\(join(path, key)).\(index)", "Input should be a valid string, got \(element.typeName)")
            }
            return string
        }
    }
}
