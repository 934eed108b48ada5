// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
import VLLMSimulator

/// `/health`, `/v1/models`, `/tokenize`, errors before generation, headers and keep-alive.
@Suite("endpoints")
struct EndpointTests {
    @Test("GET /health: 200 empty; POST /sim/health {healthy:false} makes it 503 empty")
    func healthToggle() async throws {
        try await withSimulator { server in
            let healthy = try await RawHTTPClient.send(port: server.port, path: "/health")
            #expect(healthy.status == 200)
            #expect(healthy.body.isEmpty)
            #expect(healthy.header("content-length") == "0")
            #expect(healthy.header("server") == "uvicorn")
            let toggled = try await RawHTTPClient.post(port: server.port, path: "/sim/health", json: ["healthy": false])
            #expect(toggled.text == #"{"healthy":false}"#)
            let sick = try await RawHTTPClient.send(port: server.port, path: "/health")
            #expect(sick.status == 503)
            #expect(sick.body.isEmpty)
            _ = try await RawHTTPClient.post(port: server.port, path: "/sim/health", json: ["healthy": true])
            #expect(try await RawHTTPClient.send(port: server.port, path: "/health").status == 200)
        }
        try await withSimulator(SimulatorConfiguration(startHealthy: false)) { server in
            let response = try await RawHTTPClient.send(port: server.port, path: "/health")
            #expect(response.status == 503)
        }
    }

    @Test("GET /v1/models has the fixture's shape, one card per --model, with max_model_len")
    func models() async throws {
        let fixture = try Fixtures.json("vllm-models-response.json")
        let configuration = SimulatorConfiguration(models: [SimulatorConfiguration.defaultModel, "other"], maxModelLen: 262144)
        try await withSimulator(configuration) { server in
            let response = try await RawHTTPClient.send(port: server.port, path: "/v1/models")
            #expect(response.header("content-type") == "application/json")
            let body = try response.json()
            let normalize: (JSONValue) -> String = { value in
                value.jsonString.replacing(/"created":\d+/, with: #""created":0"#).replacing(/modelperm-[0-9a-f]+/, with: "modelperm-X")
            }
            let cards = body["data"]?.arrayValue ?? []
            #expect(cards.count == 2)
            let firstOnly: JSONValue = ["object": "list", "data": .array(Array(cards.prefix(1)))]
            #expect(normalize(firstOnly) == normalize(fixture))
            #expect(cards.last?["id"] == "other")
            #expect(cards.last?["root"] == "other")
        }
    }

    @Test("POST /tokenize, prompt form: the fixture's shape; count = ceil(bytes / 4)")
    func tokenizePrompt() async throws {
        let request = try Fixtures.json("vllm-tokenize-request-prompt.json")
        let fixture = try Fixtures.json("vllm-tokenize-response.json")
        try await withSimulator(SimulatorConfiguration(maxModelLen: 262144)) { server in
            let body = try await RawHTTPClient.post(port: server.port, path: "/tokenize", json: request).json()
            #expect(body.objectValue?.keys == fixture.objectValue?.keys)
            #expect(body["count"] == 3)
            #expect(body["max_model_len"] == 262144)
            #expect(body["tokens"]?.arrayValue?.count == 3)
            #expect(body["token_strs"] == .null)
        }
    }

    @Test("POST /tokenize, chat form: the same count the completion reports as prompt_tokens")
    func tokenizeChatMatchesUsage() async throws {
        var request = try Fixtures.json("vllm-tokenize-request-messages.json").objectValue!
        try await withSimulator { server in
            let tokenized = try await RawHTTPClient.post(port: server.port, path: "/tokenize", json: .object(request)).json()
            let count = tokenized["count"]?.intValue ?? -1
            #expect(tokenized["tokens"]?.arrayValue?.count == count)
            // 3 + ceil(16/4) + 3 + ceil(5/4) + ceil(len(tools JSON)/4)
            let toolsBytes = request["tools"]!.jsonBytes.count
            #expect(count == 7 + 5 + (toolsBytes + 3) / 4)
            request["return_token_strs"] = true
            let withStrings = try await RawHTTPClient.post(port: server.port, path: "/tokenize", json: .object(request)).json()
            #expect(withStrings["token_strs"]?.arrayValue?.first == "<|im_start|>")
            let completion = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: ["messages": request["messages"]!, "tools": request["tools"]!]
            ).json()
            #expect(completion["usage"]?["prompt_tokens"]?.intValue == count)
        }
    }

    @Test("prompt over max_model_len: 400 with the v0.15 input_tokens message, new format")
    func promptTooLongNewFormat() async throws {
        try await withSimulator(SimulatorConfiguration(maxModelLen: 50)) { server in
            let long = String(repeating: "x", count: 400)  // 3 + 100 tokens
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: ["messages": [["role": "user", "content": .string(long)]], "stream": true]
            )
            #expect(response.status == 400)
            #expect(response.text == #"{"error":{"message":"This model's maximum context length is 50 tokens. However, your request has 103 input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=103)","type":"BadRequestError","param":"input_tokens","code":400}}"#)
        }
    }

    @Test("prompt + max_tokens over max_model_len: 400 with the messages/completion message, old flat format")
    func requestTooLongOldFormat() async throws {
        try await withSimulator(SimulatorConfiguration(maxModelLen: 50, errorFormat: .old)) { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: ["messages": [["role": "user", "content": "hi"]], "max_tokens": 100]
            )
            #expect(response.status == 400)
            #expect(response.text == #"{"object":"error","message":"This model's maximum context length is 50 tokens. However, you requested 104 tokens (4 in the messages, 100 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}"#)
        }
    }

    @Test("unknown model: 404 NotFoundError")
    func unknownModel() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(model: "gpt-4")
            )
            #expect(response.status == 404)
            #expect(response.text == #"{"error":{"message":"The model `gpt-4` does not exist.","type":"NotFoundError","param":null,"code":404}}"#)
        }
    }

    @Test("unknown paths get FastAPI's 404; a non-JSON body is a 400")
    func notFoundAndBadJSON() async throws {
        try await withSimulator { server in
            let missing = try await RawHTTPClient.send(port: server.port, path: "/v1/completions/nope")
            #expect(missing.status == 404)
            #expect(missing.text == #"{"detail":"Not Found"}"#)
            let bad = try await RawHTTPClient.send(port: server.port, method: "POST", path: "/v1/chat/completions", body: Array("{".utf8))
            #expect(bad.status == 400)
            #expect(bad.text.hasPrefix(#"{"error":{"message":"JSON decode error"#))
        }
    }

    @Test("streams are text/event-stream; charset=utf-8 and chunked, like uvicorn")
    func streamHeaders() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions", json: chatRequest(stream: true)
            )
            #expect(response.header("content-type") == "text/event-stream; charset=utf-8")
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.header("server") == "uvicorn")
            #expect(response.header("date")?.hasSuffix(" GMT") == true)
            #expect(response.complete)
        }
    }

    @Test("an HTTP/1.0 client gets an unchunked stream that ends when the connection closes")
    func http10Stream() async throws {
        try await withSimulator { server in
            let body = chatRequest(directive: ["text": "one two"], stream: true).jsonString
            let request = "POST /v1/chat/completions HTTP/1.0\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
            let bytes = try await RawHTTPClient.exchange(port: server.port, request: Array(request.utf8))
            let response = try RawHTTPClient.parse(bytes)
            #expect(String(decoding: bytes.prefix(15), as: UTF8.self) == "HTTP/1.0 200 OK")
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.events.last == "[DONE]")
        }
    }

    @Test("keep-alive: pipelined requests on one connection are all answered")
    func keepAlive() async throws {
        try await withSimulator { server in
            let body = chatRequest(directive: ["text": "one"]).jsonString
            let request = "GET /health HTTP/1.1\r\nhost: x\r\n\r\n"
                + "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
                + "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            let bytes = try await RawHTTPClient.exchange(port: server.port, request: Array(request.utf8))
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.matches(of: /HTTP\/1.1 200 OK/).count == 3)
            #expect(text.contains(#""content":"one""#))
        }
    }
}

/// `--fail-status`/`--fail-count` (test only): a backend that answers every completion, or the first
/// few, with an error status, as the bridge's retries and fallbacks need.
@Suite("scripted failure status")
struct FailStatusTests {
    static let request: JSONValue = ["model": .string(SimulatorConfiguration.defaultModel), "max_tokens": 4, "messages": [["role": "user", "content": "hi"]]]

    @Test("--fail-status 503 --fail-count 2: the first two completions get 503 and vLLM's error body, then completions again")
    func countedFailures() async throws {
        try await withSimulator(SimulatorConfiguration(failStatus: 503, failCount: 2)) { server in
            for _ in 0..<2 {
                let failed = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.request)
                #expect(failed.status == 503)
                let body = try failed.json()
                #expect(body["error"]?["code"] == 503)
                #expect(body["error"]?["message"]?.stringValue?.contains("--fail-status") == true)
            }
            let answered = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.request)
            #expect(answered.status == 200)
            let recorded = try await RawHTTPClient.send(port: server.port, path: "/sim/requests").json()
            #expect(recorded.arrayValue?.compactMap { $0["status"]?.intValue } == [503, 503, 200])
        }
    }

    @Test("without --fail-count every completion fails; health and models are untouched")
    func everyRequest() async throws {
        try await withSimulator(SimulatorConfiguration(failStatus: 429)) { server in
            for _ in 0..<3 {
                let failed = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.request)
                #expect(failed.status == 429)
            }
            let health = try await RawHTTPClient.send(port: server.port, path: "/health")
            let models = try await RawHTTPClient.send(port: server.port, path: "/v1/models")
            #expect(health.status == 200)
            #expect(models.status == 200)
        }
    }
}
