// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
import VLLMSimulator

/// The prefix cache, `cached_tokens`, `--max-num-seqs` and `GET /metrics` over real HTTP.
@Suite("prefix cache and /metrics over HTTP")
struct PrefixCacheServerTests {
    /// A chat request whose system prompt is `systemBytes` long (so `3 + systemBytes / 4` tokens).
    static func longRequest(systemBytes: Int = 800, user: String = "Hi", stream: Bool = false, directive: JSONValue? = nil) -> JSONValue {
        var body = chatRequest(directive: directive, userText: user, stream: stream, includeUsage: stream)
        guard case .object(var object) = body, case .array(let messages)? = object["messages"] else { return body }
        object["messages"] = .array([["role": "system", "content": .string(String(repeating: "abcd", count: systemBytes / 4))]] + messages)
        body = .object(object)
        return body
    }

    /// The value of the sample `name{…}` on a metrics page.
    static func sample(_ name: String, in page: String) -> Double? {
        for line in page.split(separator: "\n") where line.hasPrefix(name + "{") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    static func metrics(_ port: Int) async throws -> String {
        try await RawHTTPClient.send(port: port, path: "/metrics").text
    }

    @Test("GET /metrics answers 200 in Prometheus text 0.0.4 with every family at zero on a fresh server")
    func freshMetrics() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.send(port: server.port, path: "/metrics")
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
            for name in ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                         "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"] {
                #expect(Self.sample(name, in: response.text) == 0, "\(name)")
            }
            #expect(response.text.contains(#"{engine="0",model_name="Qwen/Qwen3-Coder-30B-A3B-Instruct"}"#))
            let post = try await RawHTTPClient.send(port: server.port, method: "POST", path: "/metrics", body: [])
            #expect(post.status == 405)
            // Like every request outside /sim/, both are in the request log.
            #expect(server.recordedRequests.count == 2)
        }
    }

    @Test("the second turn of a conversation reports its cached tokens and the counters add up")
    func cachedTokensReported() async throws {
        let configuration = SimulatorConfiguration(kvCacheTokens: 100_000, enablePromptTokensDetails: true)
        try await withSimulator(configuration) { server in
            let request = Self.longRequest()
            let first = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: request).json()
            let promptTokens = try #require(first["usage"]?["prompt_tokens"]?.intValue)
            #expect(first["usage"]?["prompt_tokens_details"] == .null)  // nothing cached yet: vLLM leaves it out
            let second = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: request).json()
            let expected = (promptTokens - 1) / 16 * 16
            #expect(second["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == expected)
            // Streaming: the usage chunk carries it too.
            let streamed = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.longRequest(stream: true))
            let usage = try streamed.events.dropLast().last.map { try JSONParser.parse(Array($0.utf8)) }
            #expect(usage?["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == expected)

            let page = try await Self.metrics(server.port)
            #expect(Self.sample("vllm:prefix_cache_queries_total", in: page) == Double(3 * promptTokens))
            #expect(Self.sample("vllm:prefix_cache_hits_total", in: page) == Double(2 * expected))
            #expect(Self.sample("vllm:num_requests_running", in: page) == 0)
        }
    }

    @Test("time to first token = base + uncached prompt tokens ÷ prefill speed, as planned in the request log")
    func prefillTime() async throws {
        let configuration = SimulatorConfiguration(ttftMilliseconds: 5, kvCacheTokens: 100_000, prefillTokensPerSecond: 100_000)
        try await withSimulator(configuration) { server in
            let request = Self.longRequest(systemBytes: 4000)
            let first = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: request).json()
            let promptTokens = try #require(first["usage"]?["prompt_tokens"]?.intValue)
            _ = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: request)
            let log = server.recordedRequests
            let cached = (promptTokens - 1) / 16 * 16
            #expect(log.map(\.cachedTokens) == [0, cached])
            // 100,000 tokens/s = 0.01 ms per token (to the nanosecond).
            let planned = log.compactMap(\.ttftMilliseconds)
            let expected = [5 + Double(promptTokens) / 100, 5 + Double(promptTokens - cached) / 100]
            #expect(planned.count == 2)
            #expect(zip(planned, expected).allSatisfy { abs($0 - $1) < 0.001 }, "\(planned) vs \(expected)")
            let listed = try await RawHTTPClient.send(port: server.port, path: "/sim/requests").json()
            #expect(listed.arrayValue?.last?["cached_tokens"]?.intValue == cached)
        }
        // Unset, the time to first token is the configured one whatever the prompt.
        try await withSimulator(SimulatorConfiguration(ttftMilliseconds: 5)) { server in
            _ = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.longRequest(systemBytes: 4000))
            #expect(server.recordedRequests.map(\.ttftMilliseconds) == [5])
            #expect(server.recordedRequests.map(\.cachedTokens) == [0])
        }
    }

    @Test("without --enable-prompt-tokens-details the usage stays as before, though the cache hits")
    func detailsOffByDefault() async throws {
        try await withSimulator(SimulatorConfiguration(kvCacheTokens: 100_000)) { server in
            for _ in 0..<2 {
                let answer = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.longRequest()).json()
                #expect(answer["usage"]?["prompt_tokens_details"] == .null)
                let streamed = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.longRequest(stream: true))
                #expect(!streamed.text.contains("prompt_tokens_details"))
            }
            #expect(Self.sample("vllm:prefix_cache_hits_total", in: try await Self.metrics(server.port)) ?? 0 > 0)
        }
    }

    @Test("a directive's cached_tokens is reported as scripted, whatever the cache found")
    func directiveWins() async throws {
        try await withSimulator(SimulatorConfiguration(kvCacheTokens: 100_000, enablePromptTokensDetails: true)) { server in
            let request = Self.longRequest(directive: ["cached_tokens": 7])
            for _ in 0..<2 {
                let answer = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: request).json()
                #expect(answer["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == 7)
            }
        }
    }

    @Test("--legacy metric names serve vllm:gpu_cache_usage_perc and vllm:gpu_prefix_cache_*")
    func legacyNames() async throws {
        try await withSimulator(SimulatorConfiguration(kvCacheTokens: 1_000, metricNames: .legacy)) { server in
            _ = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: Self.longRequest())
            let page = try await Self.metrics(server.port)
            #expect(Self.sample("vllm:gpu_prefix_cache_queries_total", in: page) ?? 0 > 0)
            #expect(Self.sample("vllm:gpu_cache_usage_perc", in: page) == 0)
            #expect(Self.sample("vllm:kv_cache_usage_perc", in: page) == nil)
        }
    }

    @Test("--max-num-seqs 1: a second request waits while the first runs, then completes")
    func waitingQueue() async throws {
        try await withSimulator(SimulatorConfiguration(kvCacheTokens: 10_000, maxNumSeqs: 1)) { server in
            let port = server.port
            // The first answer is held 12 s, so the second request is queued behind it however slowly a
            // loaded machine runs the polls below (4 s ran out once under a full parallel run).
            let slow = Task { try await RawHTTPClient.post(port: port, path: "/v1/chat/completions", json: Self.longRequest(directive: ["ttft_ms": 12_000])) }
            // Bounded polls, no timing assertion: each step waits until the state is visible.
            var running = 0.0
            for _ in 0..<400 where running < 1 {
                running = Self.sample("vllm:num_requests_running", in: try await Self.metrics(port)) ?? 0
                if running < 1 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(running == 1)
            let queued = Task { try await RawHTTPClient.post(port: port, path: "/v1/chat/completions", json: Self.longRequest(stream: true)) }
            var page = ""
            for _ in 0..<400 {
                page = try await Self.metrics(port)
                if Self.sample("vllm:num_requests_waiting", in: page) == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(Self.sample("vllm:num_requests_waiting", in: page) == 1)
            #expect(Self.sample("vllm:num_requests_running", in: page) == 1)
            #expect(Self.sample("vllm:kv_cache_usage_perc", in: page) ?? 0 > 0)
            let first = try await slow.value
            let second = try await queued.value
            #expect(first.status == 200 && second.status == 200)
            #expect(second.events.last == "[DONE]")
            let after = try await Self.metrics(port)
            #expect(Self.sample("vllm:num_requests_running", in: after) == 0)
            #expect(Self.sample("vllm:num_requests_waiting", in: after) == 0)
            #expect(Self.sample("vllm:kv_cache_usage_perc", in: after) == 0)
        }
    }

    @Test("a waiting client that hangs up leaves the queue")
    func waitingClientLeaves() async throws {
        try await withSimulator(SimulatorConfiguration(maxNumSeqs: 1)) { server in
            let port = server.port
            let slow = Task { try await RawHTTPClient.post(port: port, path: "/v1/chat/completions", json: chatRequest(directive: ["ttft_ms": 3000])) }
            for _ in 0..<400 {
                if Self.sample("vllm:num_requests_running", in: try await Self.metrics(port)) == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            // A stream's head comes at once; hang up as soon as it is in.
            let request = chatRequest(stream: true).jsonBytes
            let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: \(request.count)\r\n\r\n"
            let partial = try await RawHTTPClient.exchange(port: port, request: Array(head.utf8) + request) { received in
                String(decoding: received, as: UTF8.self).contains("\r\n\r\n")
            }
            #expect(String(decoding: partial, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            var waiting = 1.0
            for _ in 0..<400 where waiting > 0 {
                waiting = Self.sample("vllm:num_requests_waiting", in: try await Self.metrics(port)) ?? 1
                if waiting > 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(waiting == 0)
            #expect(try await slow.value.status == 200)
        }
    }
}
