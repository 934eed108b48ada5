// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Foundation
import Testing
import VLLMSimulator

/// `/sim/requests`, `/sim/reset`, client-abort detection and server-side drops.
@Suite("recording, aborts and drops")
struct RecordingTests {
    /// Polls `GET /sim/requests` until `condition` holds for the completion entry (up to ~3 s).
    static func waitForCompletionEntry(port: Int, _ condition: (JSONValue) -> Bool) async throws -> JSONValue? {
        // A bound on polls, not a time limit: under a loaded parallel run each poll can take long.
        for _ in 0..<400 {
            let list = try await RawHTTPClient.send(port: port, path: "/sim/requests").json().arrayValue ?? []
            if let entry = list.last(where: { $0["path"] == "/v1/chat/completions" }), condition(entry) { return entry }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("every request is recorded with method, path, headers, JSON body, time and outcome; reset clears")
    func recordAndReset() async throws {
        try await withSimulator { server in
            _ = try await RawHTTPClient.send(port: server.port, path: "/health")
            let body = chatRequest(directive: ["text": "ok"], extra: ["temperature": .number("0.7")])
            _ = try await RawHTTPClient.send(
                port: server.port, method: "POST", path: "/v1/chat/completions?x=1", body: body.jsonBytes,
                headers: [("Authorization", "Bearer k")]
            )
            let list = try await RawHTTPClient.send(port: server.port, path: "/sim/requests").json().arrayValue ?? []
            #expect(list.count == 2)  // /sim/* requests are not recorded
            #expect(list[0]["path"] == "/health")
            let entry = list[1]
            #expect(entry["method"] == "POST")
            #expect(entry["path"] == "/v1/chat/completions?x=1")
            #expect(entry["headers"]?["authorization"] == "Bearer k")
            #expect(entry["body"] == body)
            #expect(entry["status"] == 200)
            #expect(entry["completed"] == true)
            #expect(entry["aborted"] == false)
            #expect((entry["received_at"]?.doubleValue ?? 0) > 1_700_000_000)
            #expect(server.recordedRequests.count == 2)
            _ = try await RawHTTPClient.send(port: server.port, method: "POST", path: "/sim/reset")
            #expect(try await RawHTTPClient.send(port: server.port, path: "/sim/requests").text == "[]")
        }
    }

    @Test("a client that hangs up mid-stream is detected promptly and recorded as aborted")
    func clientAbortMidStream() async throws {
        try await withSimulator(SimulatorConfiguration(tokensPerSecond: 20)) { server in
            let text = String(repeating: "word ", count: 200)  // 10 s at 20 tokens/s
            let body = chatRequest(directive: ["text": .string(text)], stream: true).jsonString
            let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
            let received = try await RawHTTPClient.exchange(port: server.port, request: Array(request.utf8)) { bytes in
                String(decoding: bytes, as: UTF8.self).components(separatedBy: #""content":"#).count > 3
            }
            #expect(String(decoding: received, as: UTF8.self).contains("data: "))
            let entry = try await Self.waitForCompletionEntry(port: server.port) { $0["aborted"] == true }
            #expect(entry != nil)
            #expect(entry?["completed"] == false)
            #expect(entry?["status"] == 200)
        }
    }

    @Test("a client that hangs up while a non-streaming answer is generated is recorded as aborted")
    func clientAbortNonStreaming() async throws {
        // The answer is due only after 60 s, so the hang-up always comes first, however late a loaded
        // machine lets this task run.
        try await withSimulator(SimulatorConfiguration(ttftMilliseconds: 60_000)) { server in
            let body = chatRequest().jsonString
            let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
            let task = Task { try await RawHTTPClient.exchange(port: server.port, request: Array(request.utf8)) }
            _ = try await Self.waitForCompletionEntry(port: server.port) { _ in true }
            task.cancel()
            _ = try? await task.value
            let entry = try await Self.waitForCompletionEntry(port: server.port) { $0["aborted"] == true }
            #expect(entry?["status"] == .null)
        }
    }

    @Test("drop_after_chunks closes the connection after N chunks: no [DONE], chunked body unterminated")
    func droppedConnection() async throws {
        try await withSimulator { server in
            let response = try await RawHTTPClient.post(
                port: server.port, path: "/v1/chat/completions",
                json: chatRequest(directive: ["text": "one two three four", "drop_after_chunks": 2], stream: true)
            )
            #expect(response.status == 200)
            #expect(!response.complete)
            #expect(response.events.count == 2)
            #expect(response.events[1].contains(#""delta":{"content":"one"}"#))
            #expect(!response.text.contains("[DONE]"))
            let entry = try await Self.waitForCompletionEntry(port: server.port) { _ in true }
            #expect(entry?["completed"] == false)
            #expect(entry?["aborted"] == false)
        }
    }

    @Test("drop_after_chunks on a non-streaming request closes without any response")
    func droppedNonStreaming() async throws {
        try await withSimulator { server in
            let body = chatRequest(directive: ["drop_after_chunks": 0]).jsonString
            let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
            let bytes = try await RawHTTPClient.exchange(port: server.port, request: Array(request.utf8))
            #expect(bytes.isEmpty)
        }
    }
}
