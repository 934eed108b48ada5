import NIOCore
import NIOPosix
import Testing
import VLLMSimulator

@testable import LoadGenerator

/// Runs against a real simulator over loopback: every request is recorded with what it carried.
@Suite struct LoadRunTests {
    static func body(stream: Bool) -> [UInt8] {
        let directive = #"[[sim:{\"text\":\"one two three four five six seven eight\"}]]"#
        let text = #"{"model":"Qwen/Qwen3-Coder-30B-A3B-Instruct","max_tokens":16,"stream":\#(stream),"messages":[{"role":"user","content":"hi \#(directive)"}]}"#
        return Array(text.utf8)
    }

    @Test(arguments: [false, true])
    func closedLoopAgainstTheSimulator(streams: Bool) async throws {
        let sim = try await SimulatorServer.start(configuration: SimulatorConfiguration(), group: MultiThreadedEventLoopGroup.singleton)
        let generator = LoadGenerator(group: MultiThreadedEventLoopGroup.singleton)
        let request = LoadRequest(
            host: "127.0.0.1", port: sim.port, path: "/v1/chat/completions", body: Self.body(stream: streams),
            streams: streams, dialect: .openAI, expectedTokenEvents: streams ? 8 : nil
        )
        let result = await generator.run(request, profile: LoadProfile(concurrency: 4, warmup: .milliseconds(50), duration: .milliseconds(300)))
        try await sim.shutdown()

        #expect(result.samples.count > 4)
        #expect(result.failed == 0, "failures: \(result.failureStatuses)")
        #expect(result.samples.allSatisfy { $0.status == 200 && $0.firstByteNanos != nil })
        #expect(result.samples.allSatisfy { $0.startOffsetNanos >= 0 })
        if streams {
            #expect(result.samples.allSatisfy { $0.tokenEvents == 8 && $0.firstTokenNanos != nil })
            #expect(result.firstToken.count == result.completed)
        } else {
            #expect(result.samples.allSatisfy { $0.events == 0 && $0.bodyBytes > 100 })
        }
        #expect(result.requestsPerSecond > 0)
    }

    @Test func refusedConnectionsAreRecordedAsFailures() async throws {
        // A port that was just free: bind, read it, close.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        let generator = LoadGenerator(group: MultiThreadedEventLoopGroup.singleton)
        let request = LoadRequest(host: "127.0.0.1", port: port, path: "/", body: [], streams: false, dialect: .openAI)
        let result = await generator.run(request, profile: LoadProfile(concurrency: 2, duration: .milliseconds(100)))
        #expect(!result.samples.isEmpty)
        #expect(result.completed == 0)
        #expect(result.failureStatuses.keys.sorted() == [0])
    }
}
