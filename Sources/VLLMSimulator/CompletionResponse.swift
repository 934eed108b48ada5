// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The non-streaming `chat.completion` body, member order as vLLM's `ChatCompletionResponse`.
enum CompletionResponse {
    static func body(
        generation: Generation,
        id: String,
        created: Int,
        model: String,
        reasoningField: ReasoningFieldMode
    ) -> [UInt8] {
        var reasoning: String?
        var content = ""
        var calls: [(id: String, name: String, arguments: String)] = []
        var deltas = generation.steps.compactMap(\.delta)
        if case .separate(.output(let last), _) = generation.ending { deltas.append(last) }
        for delta in deltas {
            switch delta {
            case .reasoning(let text): reasoning = (reasoning ?? "") + text
            case .content(let text): content += text
            case .toolCallStart(_, let id, let name): calls.append((id, name, "{"))
            case .toolCallArguments(let index, let fragment) where index < calls.count: calls[index].arguments += fragment
            case .toolCallArguments: break
            }
        }
        var message: JSONObject = [
            "role": "assistant",
            "content": content.isEmpty ? .null : .string(content),
            "refusal": nil,
            "annotations": nil,
            "audio": nil,
            "function_call": nil,
            "tool_calls": .array(calls.map { call in
                ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
            }),
        ]
        let reasoningValue: JSONValue = reasoning.map(JSONValue.string) ?? .null
        switch reasoningField {
        case .reasoning: message["reasoning"] = reasoningValue
        case .reasoningContent: message["reasoning_content"] = reasoningValue
        case .both:
            message["reasoning"] = reasoningValue
            message["reasoning_content"] = reasoningValue
        }
        let finish = generation.ending.finish
        let response: JSONValue = [
            "id": .string(id),
            "object": "chat.completion",
            "created": .int(created),
            "model": .string(model),
            "choices": [[
                "index": 0,
                "message": .object(message),
                "logprobs": nil,
                "finish_reason": finish.map { .string($0.reason) } ?? .null,
                "stop_reason": finish?.stopReason.map(JSONValue.string) ?? .null,
            ]],
            "usage": [
                "prompt_tokens": .int(generation.promptTokens),
                "total_tokens": .int(generation.promptTokens + generation.completionTokens),
                "completion_tokens": .int(generation.completionTokens),
                "prompt_tokens_details": generation.cachedTokens.map { ["cached_tokens": .int($0)] } ?? .null,
            ],
            "prompt_logprobs": nil,
            "kv_transfer_params": nil,
        ]
        return response.jsonBytes
    }
}
