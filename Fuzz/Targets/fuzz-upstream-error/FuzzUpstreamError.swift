import BridgeCore
import BridgeJSON
import FuzzSupport

/// Arbitrary bytes as a backend's error answer: bytes 0–1 are the HTTP status (big-endian), the rest
/// the body. Also read as an error inside a stream (`data: {"error": …}`).
///
/// Every status and body must map to an Anthropic error with a 4xx/5xx status and a JSON body; a
/// context-length error's numbers must give a `max_tokens` that really fits, or none. Never a trap.
@main
enum FuzzUpstreamError {
    static func main() { runFuzzer(test) }

    static let context = TranslationContext(clientModel: "claude-sonnet-4-5", backendModel: "Qwen/Qwen3-Coder-30B-A3B-Instruct")

    static let test: FuzzTest = { data, size in
        let input = fuzzBytes(data, size)
        guard input.count >= 2 else { return 0 }
        let status = Int(input[0]) << 8 | Int(input[1])
        let body = Array(input[2...])

        for context in [context, nil] {
            checkShape(UpstreamErrorMapper.map(status: status, body: body, context: context))
        }
        if case .error(let error) = UpstreamStreamItem(data: body) { checkShape(error) }

        // What the daemon's retry with a smaller max_tokens reads.
        if let message = UpstreamErrorMapper.errorMessage(in: body), let overflow = ContextLengthOverflow(message: message) {
            _ = overflow.anthropicMessage
            if let fit = overflow.maxTokensThatFit, let prompt = overflow.promptTokens {
                fuzzCheck(fit >= 1 && prompt <= overflow.maximumContextLength - fit, "max_tokens \(fit) does not fit next to \(prompt) of \(overflow.maximumContextLength)")
            }
        }
        return 0
    }

    static func checkShape(_ error: AnthropicError) {
        fuzzCheck((400...599).contains(error.httpStatus), "an error with status \(error.httpStatus)")
        let body = error.body(requestID: "req_fuzz")
        fuzzCheck((try? JSONParser.parse(body.jsonBytes)) == body, "an error body that is not valid JSON")
    }
}
