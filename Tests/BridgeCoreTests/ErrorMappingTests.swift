// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Testing

/// Backend failures → Anthropic errors, and the context-length numbers the daemon's retry needs.
@Suite("Error mapping")
struct ErrorMappingTests {
    static func body(_ message: String) -> [UInt8] {
        JSONValue.object(["error": ["message": .string(message), "type": "BadRequestError", "param": .null, "code": 400]]).jsonBytes
    }

    @Test("400 stays invalid_request_error with vLLM's message")
    func badRequest() throws {
        let error = UpstreamErrorMapper.map(status: 400, body: try Fixtures.bytes("vllm/vllm-error-auto-tool-choice-not-enabled.json"), context: nil)
        #expect(error == AnthropicError(.invalidRequest, "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set"))
        #expect(error.body(requestID: "req_1") == [
            "type": "error", "error": ["type": "invalid_request_error", "message": .string(error.message)], "request_id": "req_1",
        ])
    }

    @Test("maximum-context-length errors of every vLLM era become 'prompt is too long: N tokens > M maximum'", arguments: [
        ("vllm/vllm-error-old-format-pre-v0.10.1-context-length.json", "prompt is too long: 1699 tokens > 2048 maximum"),
        ("vllm/vllm-error-new-format-v0.10.1plus-context-length.json", "prompt is too long: 39197 tokens > 32768 maximum"),
        ("vllm/vllm-error-v0.15-input-tokens.json", "prompt is too long: 8 tokens > 3 maximum"),
    ])
    func contextLength(_ fixture: String, _ message: String) throws {
        let error = UpstreamErrorMapper.map(status: 400, body: try Fixtures.bytes(fixture), context: nil)
        #expect(error == AnthropicError(.invalidRequest, message))
        let anthropic = try Fixtures.json("anthropic/anthropic-error-400-prompt-too-long.json")
        #expect(anthropic["error"]?["type"]?.stringValue == error.kind.rawValue)
        #expect(anthropic["error"]?["message"]?.stringValue?.hasPrefix("prompt is too long: ") == true)
    }

    @Test("the numbers in a context-length error say whether a smaller max_tokens would fit")
    func contextLengthNumbers() throws {
        let old = try #require(ContextLengthOverflow(message: "This model's maximum context length is 2048 tokens. However, you requested 2723 tokens (1699 in the messages, 1024 in the completion). Please reduce the length of the messages or completion."))
        #expect(old == ContextLengthOverflow(maximumContextLength: 2048, promptTokens: 1699, requestedTokens: 2723))
        #expect(old.maxTokensThatFit == 349)
        let promptTooLong = try #require(ContextLengthOverflow(message: "This model's maximum context length is 32768 tokens. However, you requested 39197 tokens in the messages, Please reduce the length of the messages. None"))
        #expect(promptTooLong.maxTokensThatFit == nil)
        let input = try #require(ContextLengthOverflow(message: "This model's maximum context length is 3 tokens. However, your request has 8 input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=8)"))
        #expect(input.promptTokens == 8)
        #expect(input.maxTokensThatFit == nil)
        #expect(ContextLengthOverflow(message: "something else") == nil)
        // The OpenAI wording (used by some servers) is understood too.
        let legacy = String(decoding: try Fixtures.bytes("openai/openai-error-context-length-legacy.json"), as: UTF8.self)
        #expect(UpstreamErrorMapper.map(status: 400, body: Array(legacy.utf8), context: nil).message == "prompt is too long: 3860 tokens > 4097 maximum")
    }

    @Test("404 names the alias and the backend model")
    func notFound() {
        let context = TranslationContext(clientModel: "claude-opus-4-5", backendModel: "Qwen/Missing")
        let error = UpstreamErrorMapper.map(status: 404, body: Self.body("The model `Qwen/Missing` does not exist."), context: context)
        #expect(error.kind == .notFound)
        #expect(error.message.contains("claude-opus-4-5"))
        #expect(error.message.contains("Qwen/Missing"))
    }

    @Test("statuses map to Anthropic's kinds", arguments: [
        (429, AnthropicError.Kind.rateLimit), (401, .api), (403, .api), (500, .overloaded), (502, .overloaded),
        (503, .overloaded), (504, .overloaded), (413, .requestTooLarge), (422, .invalidRequest),
    ])
    func statusMap(_ status: Int, _ kind: AnthropicError.Kind) throws {
        let error = UpstreamErrorMapper.map(status: status, body: try Fixtures.bytes("openai/openai-error-401.json"), context: nil)
        #expect(error.kind == kind)
        if status == 401 || status == 403 { #expect(error.message.contains("bridge's credentials")) }
    }

    @Test("refused, timed-out or unreachable backends are 529 overloaded_error")
    func unreachable() throws {
        let error = UpstreamErrorMapper.unreachable("connection refused")
        #expect(error.httpStatus == 529)
        let anthropic = try Fixtures.json("anthropic/anthropic-error-529-overloaded.json")
        #expect(error.body()["error"]?["type"] == anthropic["error"]?["type"])
    }

    @Test("the old flat vLLM error body and non-JSON bodies are read too")
    func bodyShapes() throws {
        #expect(UpstreamErrorMapper.errorMessage(in: try Fixtures.bytes("vllm/vllm-error-old-format-pre-v0.10.1-context-length.json"))?.hasPrefix("This model's maximum") == true)
        #expect(UpstreamErrorMapper.errorMessage(in: Array("Bad Gateway".utf8)) == "Bad Gateway")
        #expect(UpstreamErrorMapper.errorMessage(in: []) == nil)
        #expect(UpstreamErrorMapper.map(status: 502, body: [], context: nil).message == "The backend failed (HTTP 502): HTTP 502 from the backend")
    }

    @Test("every Anthropic error fixture's type has the status the bridge sends it with", arguments: [
        ("anthropic-error-400-invalid-request.json", 400), ("anthropic-error-401-authentication.json", 401),
        ("anthropic-error-403-permission.json", 403), ("anthropic-error-404-not-found.json", 404),
        ("anthropic-error-413-request-too-large.json", 413), ("anthropic-error-429-rate-limit.json", 429),
        ("anthropic-error-500-api-error.json", 500), ("anthropic-error-529-overloaded.json", 529),
    ])
    func fixtureStatuses(_ fixture: String, _ status: Int) throws {
        let json = try Fixtures.json("anthropic/\(fixture)")
        let typeName = try #require(json["error"]?["type"]?.stringValue)
        let kind = try #require(AnthropicError.Kind(rawValue: typeName))
        #expect(kind.httpStatus == status)
        let ours = AnthropicError(kind, try #require(json["error"]?["message"]?.stringValue)).body()
        #expect(ours["type"] == json["type"])
        #expect(ours["error"] == json["error"])
    }
}

@Suite("SSE decoding")
struct SSEDecoderTests {
    @Test("events split at every byte boundary decode to the same payloads")
    func everySplit() throws {
        let bytes = try Fixtures.bytes("openai/openai-chunk-stream-text-with-usage.sse")
        var whole = SSEDecoder()
        let expected = try whole.feed(bytes)
        #expect(expected.count > 5)
        for size in [1, 2, 3, 7, 64] {
            var decoder = SSEDecoder()
            var payloads: [[UInt8]] = []
            var start = 0
            while start < bytes.count {
                payloads += try decoder.feed(bytes[start..<min(start + size, bytes.count)])
                start += size
            }
            #expect(payloads == expected)
        }
        #expect(String(decoding: expected.last ?? [], as: UTF8.self) == "[DONE]")
    }

    @Test("CRLF and CR line ends, comments, event fields and multi-line data")
    func lineForms() throws {
        var decoder = SSEDecoder()
        let payloads = try decoder.feed(Array(": keep-alive\r\nevent: x\r\ndata: a\r\ndata:b\r\n\r\ndata: c\r\rdata: d\n\n".utf8))
        #expect(payloads.map { String(decoding: $0, as: UTF8.self) } == ["a\nb", "c", "d"])
    }

    @Test("a last event without its blank line is returned by finish()")
    func unterminated() throws {
        var decoder = SSEDecoder()
        #expect(try decoder.feed(Array("data: [DONE]".utf8)).isEmpty)
        #expect(decoder.finish().map { String(decoding: $0, as: UTF8.self) } == "[DONE]")
    }

    @Test("a line longer than the limit is an error, not unbounded memory")
    func lineLimit() {
        var decoder = SSEDecoder(maximumEventLength: 16)
        #expect(throws: SSEDecoderError.eventTooLarge(limit: 16)) { try decoder.feed(Array(repeating: UInt8(ascii: "a"), count: 100)) }
    }

    @Test("data: lines that never end their event are an error once the event passes the limit")
    func eventLimit() throws {
        var decoder = SSEDecoder(maximumEventLength: 64)
        let line = Array("data: 0123456789\n".utf8)
        for _ in 0..<5 { #expect(try decoder.feed(line).isEmpty) }
        #expect(throws: SSEDecoderError.eventTooLarge(limit: 64)) { try decoder.feed(line) }
        var fits = SSEDecoder(maximumEventLength: 64)
        #expect(try fits.feed(line + line + Array("\n".utf8)) == [Array("0123456789\n0123456789".utf8)])
    }

    @Test("a payload that is not JSON becomes an error item, [DONE] the done item")
    func items() {
        #expect(UpstreamStreamItem(data: Array("[DONE]".utf8)) == .done)
        guard case .error(let error) = UpstreamStreamItem(data: Array("{oops".utf8)) else { Issue.record("expected an error"); return }
        #expect(error.kind == .api)
    }
}
