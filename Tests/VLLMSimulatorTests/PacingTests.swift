// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VLLMSimulator

/// Tokens per second, time to first token, cold start, and many concurrent streams.
@Suite("pacing and load", .serialized)
struct PacingTests {
    static func timed(_ body: () async throws -> Void) async rethrows -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    @Test("tokens_per_second and ttft_ms shape the stream's timing")
    func pacing() async throws {
        try await withSimulator(SimulatorConfiguration(tokensPerSecond: 50, ttftMilliseconds: 100)) { server in
            // 10 tokens + EOS: first at 100 ms, the last 10 × 20 ms later.
            let directive: JSONValue = ["text": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]]
            var events: [String] = []
            let elapsed = try await Self.timed {
                events = try await RawHTTPClient.post(
                    port: server.port, path: "/v1/chat/completions", json: chatRequest(directive: directive, stream: true)
                ).events
            }
            #expect(events.count == 13)
            // Lower bounds only: timers guarantee them, while an upper bound would fail on a loaded machine.
            #expect(elapsed >= .milliseconds(280))
        }
    }

    @Test("a non-streaming answer arrives after ttft + generation time")
    func nonStreamingPacing() async throws {
        try await withSimulator(SimulatorConfiguration(tokensPerSecond: 100, ttftMilliseconds: 50)) { server in
            let elapsed = try await Self.timed {
                _ = try await RawHTTPClient.post(
                    port: server.port, path: "/v1/chat/completions",
                    json: chatRequest(directive: ["text": .array(Array(repeating: "t", count: 20))])
                )
            }
            #expect(elapsed >= .milliseconds(240))  // 50 + 20 × 10 ms
        }
    }

    @Test("cold start delays the first completion only")
    func coldStart() async throws {
        try await withSimulator(SimulatorConfiguration(coldStartMilliseconds: 1500)) { server in
            _ = try await RawHTTPClient.send(port: server.port, path: "/health")  // not a completion
            let first = try await Self.timed {
                _ = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest())
            }
            let second = try await Self.timed {
                _ = try await RawHTTPClient.post(port: server.port, path: "/v1/chat/completions", json: chatRequest())
            }
            #expect(first >= .milliseconds(1500))
            // Relative, in the same run: the second request does not pay the cold start.
            #expect(second < first)
        }
    }

    /// 1000, or fewer when the open-file limit cannot hold a client and a server socket for each.
    static var concurrency: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1000 }
        return max(50, min(1000, (Int(limit.rlim_cur) - 200) / 2))
    }

    @Test("1000 concurrent paced streams all complete")
    func concurrentStreams() async throws {
        let concurrency = Self.concurrency
        try await withSimulator(SimulatorConfiguration(tokensPerSecond: 100)) { server in
            let port = server.port
            let directive: JSONValue = ["text": .array(Array(repeating: " tok", count: 20))]
            let body = chatRequest(directive: directive, stream: true, includeUsage: true)
            do {
                let completed = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<concurrency {
                        group.addTask {
                            let response = try await RawHTTPClient.post(port: port, path: "/v1/chat/completions", json: body)
                            return response.complete && response.events.count == 24
                        }
                    }
                    var count = 0
                    for try await ok in group where ok { count += 1 }
                    return count
                }
                #expect(completed == concurrency)
            }
        }
    }
}
