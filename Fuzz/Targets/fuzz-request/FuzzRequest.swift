import BridgeCore
import BridgeJSON
import FuzzSupport

/// Arbitrary bytes as the body of `POST /v1/messages` and of `/v1/messages/count_tokens`: parsed,
/// validated into an `AnthropicRequest` and translated, as the daemon does before calling a backend.
///
/// Every input must end in a translated request or an Anthropic-shaped error, never a trap; a
/// translated request must be one the backend can take: valid JSON, tool names OpenAI accepts and
/// that map back to the client's, unique tool call ids, and every tool result answering a call.
@main
enum FuzzRequest {
    static func main() { runFuzzer(test) }

    static let test: FuzzTest = { data, size in
        guard let json = try? JSONParser.parse(fuzzBytes(data, size)) else { return 0 }
        for endpoint in [AnthropicRequest.Endpoint.messages, .countTokens] {
            do throws(AnthropicError) {
                let request = try AnthropicRequest(json: json, endpoint: endpoint)
                let translated = try RequestTranslator.translate(request) { (model: String) throws(AnthropicError) in
                    if model.isEmpty { throw AnthropicError(.notFound, "model: empty") }
                    return "Qwen/Qwen3-Coder-30B-A3B-Instruct"
                }
                check(translated, of: request)
            } catch {
                let body = error.body(requestID: "req_fuzz")
                fuzzCheck(body["type"]?.stringValue == "error", "an error body without type error")
                fuzzCheck((400...599).contains(error.httpStatus), "an error with status \(error.httpStatus)")
                fuzzCheck((try? JSONParser.parse(body.jsonBytes)) == body, "an error body that is not valid JSON")
            }
        }
        return 0
    }

    static func check(_ translated: TranslatedRequest, of request: AnthropicRequest) {
        let body = JSONValue.object(translated.body)
        fuzzCheck((try? JSONParser.parse(body.jsonBytes)) == body, "a backend request body that is not valid JSON")
        fuzzCheck((try? JSONParser.parse(translated.tokenizeBody.jsonBytes)) != nil, "a tokenize body that is not valid JSON")

        for tool in body["tools"]?.arrayValue ?? [] {
            let name = tool["function"]?["name"]?.stringValue ?? ""
            fuzzCheck(isOpenAIToolName(name), "a tool name OpenAI servers refuse: \(name)")
        }
        for case .custom(let name, _, _) in request.tools {
            let backendName = ToolNameMap.backendName(for: name)
            fuzzCheck(translated.context.toolNames.clientName(for: backendName) == name, "tool name \(name) does not map back")
        }

        var callIDs: Set<String> = []
        var unanswered: Set<String> = []
        let messages = body["messages"]?.arrayValue ?? []
        for (position, message) in messages.enumerated() {
            switch message["role"]?.stringValue {
            case "assistant":
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    let id = call["id"]?.stringValue ?? ""
                    fuzzCheck(!id.isEmpty && callIDs.insert(id).inserted, "a tool call id that is empty or used twice: \(id)")
                    unanswered.insert(id)
                    let name = call["function"]?["name"]?.stringValue ?? ""
                    fuzzCheck(isOpenAIToolName(name), "a tool call name OpenAI servers refuse: \(name)")
                    let arguments = call["function"]?["arguments"]?.stringValue ?? ""
                    fuzzCheck((try? JSONParser.parse(arguments))?.objectValue != nil, "tool call arguments that are not a JSON object")
                }
            case "tool":
                let id = message["tool_call_id"]?.stringValue ?? ""
                fuzzCheck(unanswered.remove(id) != nil, "a tool result for no open call: \(id)")
            case "user", "system":
                // A later turn closes every call: each must have been answered by then.
                fuzzCheck(unanswered.isEmpty || position == 0, "tool calls left unanswered before a \(message["role"]?.stringValue ?? "") turn")
            default:
                fuzzFail("a message with role \(message["role"]?.stringValue ?? "none")")
            }
        }
    }

    /// `^[a-zA-Z0-9_-]{1,64}$`, what OpenAI-compatible servers accept as a function name.
    static func isOpenAIToolName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
