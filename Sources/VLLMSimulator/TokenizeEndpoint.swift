// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// `POST /tokenize`: the completion form (`prompt`) and the chat form (`messages`, `tools`, …),
/// counted with ``PromptTokenEstimator``.
enum TokenizeEndpoint {
    /// The response body, or the error to answer with.
    static func respond(to body: JSONValue, models: [String], maxModelLen: Int) throws(APIError) -> [UInt8] {
        guard let object = body.objectValue else { throw .badRequest("Request body must be a JSON object") }
        if let model = object["model"]?.stringValue, !models.contains(model) { throw .unknownModel(model) }
        let wantsStrings = object["return_token_strs"]?.boolValue ?? false
        let tokens: [Int]
        let strings: [String]?
        if let messages = object["messages"]?.arrayValue {
            let tools = object["tools"]?.arrayValue
            tokens = PromptTokenEstimator.tokenIDs(messages: messages, tools: tools)
            strings = wantsStrings ? PromptTokenEstimator.tokenStrings(messages: messages, tools: tools) : nil
        } else if let prompt = object["prompt"]?.stringValue {
            tokens = PromptTokenEstimator.tokenIDs(prompt: prompt)
            strings = wantsStrings ? PromptTokenEstimator.tokenStrings(prompt: prompt) : nil
        } else {
            throw .badRequest("Either 'prompt' (a string) or 'messages' is required")
        }
        let response: JSONValue = [
            "count": .int(tokens.count),
            "max_model_len": .int(maxModelLen),
            "tokens": .array(tokens.map(JSONValue.int)),
            "token_strs": strings.map { .array($0.map(JSONValue.string)) } ?? .null,
        ]
        return response.jsonBytes
    }
}
