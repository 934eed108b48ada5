// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
import VLLMSimulator

/// Numbers a client controls answer with vLLM's 400, never a trap; and the scripted faults a broken
/// backend sends, byte for byte as the bridge's fault tests rely on.
@Suite("vllm-sim: hostile numbers and scripted faults")
struct HostileNumbersAndFaultTests {
    @Test("max_tokens near 2^63 is vLLM's context-length 400 with the exact sum, not an overflow", arguments: [Int.max, Int.max - 1, 1 << 62])
    func hugeMaxTokens(_ maxTokens: Int) async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["prompt_tokens": 10], extra: ["max_tokens": .int(maxTokens)])
            )
            #expect(response.status == 400)
            let message = try response.json()["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("However, you requested \(UInt64(maxTokens) + 10) tokens (10 in the messages, \(maxTokens) in the completion)"))
        }
    }

    @Test("directive numbers that would overflow the clock are a 400 naming the field", arguments: [
        (#"{"ttft_ms": 9223372036854775807}"#, "ttft_ms must be at most"),
        (#"{"tokens_per_second": 1e-300}"#, "tokens_per_second must be 0 or a number"),
        (#"{"fault": {"kind": "tool_deltas", "count": 9223372036854775807}}"#, "fault count must be an integer"),
        (#"{"fault": {"kind": "lightning"}}"#, "fault needs a 'kind'"),
    ])
    func directiveBounds(_ directive: String, _ expected: String) async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: try JSONParser.parse(directive))
            )
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains(expected) == true)
        }
    }

    @Test("huge_numbers: usage with 2^63-1 and -(2^63-1), streamed and whole")
    func hugeNumbers() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["fault": ["kind": "huge_numbers"]]
            let whole = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive))
            #expect(whole.status == 200)
            #expect(try whole.json()["usage"]?["prompt_tokens_details"]?["cached_tokens"] == .number("-9223372036854775807"))
            let stream = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, stream: true))
            #expect(stream.complete)
            #expect(stream.text.contains(#""cached_tokens":-9223372036854775807"#))
            #expect(stream.text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test("huge_context_error: a 400 body whole, an error event inside a 200 stream")
    func hugeContextError() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["fault": ["kind": "huge_context_error"]]
            let whole = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive))
            #expect(whole.status == 400)
            #expect(whole.text.contains("maximum context length is 9223372036854775807 tokens"))
            let stream = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, stream: true))
            #expect(stream.status == 200)
            #expect(stream.text.contains(#"data: {"error": {"message": "This model's maximum context length is 9223372036854775807 tokens."#))
        }
    }

    @Test("tool_deltas: count unnamed deltas, each its own index, then tool_calls and [DONE]")
    func toolDeltas() async throws {
        try await withSimulator { server in
            let directive: JSONValue = ["fault": ["kind": "tool_deltas", "count": 1234]]
            let stream = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, stream: true))
            #expect(stream.complete)
            #expect(stream.events.count == 1 + 1234 + 3)
            #expect(stream.text.contains(#"{"tool_calls":[{"index":1233,"function":{"arguments":"{\"n\":1233}"}}]}"#))
            #expect(!stream.text.contains(#""name""#))
        }
    }

    @Test("endless_data: data lines with no blank line keep coming until the client hangs up")
    func endlessData() async throws {
        try await withSimulator { server in
            let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            let body = chatRequest(directive: ["fault": ["kind": "endless_data"]], stream: true).jsonBytes
            let bytes = try await RawHTTPClient.exchange(port: server.port, request: Array((request + "content-length: \(body.count)\r\n\r\n").utf8) + body) { $0.count > 1 << 20 }
            #expect(bytes.count > 1 << 20)
            #expect(RawHTTPClient.find(Array("\n\n".utf8), in: bytes, from: 0) == nil)
        }
    }

    @Test("drip: a valid stream, one byte per interval, that never finishes")
    func drip() async throws {
        try await withSimulator { server in
            let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            let body = chatRequest(directive: ["fault": ["kind": "drip", "interval_ms": 1]], stream: true).jsonBytes
            // Each byte is an HTTP chunk of its own: look at the de-chunked body.
            let bytes = try await RawHTTPClient.exchange(port: server.port, request: Array((request + "content-length: \(body.count)\r\n\r\n").utf8) + body) {
                (try? RawHTTPClient.parse($0))?.text.contains(#""content":"x""#) == true
            }
            let response = try RawHTTPClient.parse(bytes)
            #expect(response.text.hasPrefix(#"data: {"id":"chatcmpl-"#))
            #expect(!response.text.contains("[DONE]"))
            #expect(!response.complete)
        }
    }

    @Test("reset: the first chunk, then the connection ends without the chunked terminator")
    func reset() async throws {
        try await withSimulator { server in
            let stream = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: ["fault": ["kind": "reset"]], stream: true)
            )
            #expect(stream.status == 200)
            #expect(!stream.complete)
        }
    }

    @Test("html_200: an HTML page with status 200")
    func html() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: ["fault": ["kind": "html_200"]])
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/html; charset=utf-8")
            #expect(response.text.hasPrefix("<!DOCTYPE html>"))
        }
    }
}
