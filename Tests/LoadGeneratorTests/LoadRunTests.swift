// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
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
        let result = await generator.run(request, profile: LoadProfile(concurrency: 4, duration: .seconds(60), requestsPerUser: 5))
        try await sim.shutdown()

        #expect(result.samples.count == 20)
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
        // A socket bound to a port but not listening: connections are refused, and no other test can
        // take the port meanwhile.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let generator = LoadGenerator(group: MultiThreadedEventLoopGroup.singleton)
        let request = LoadRequest(host: "127.0.0.1", port: port, path: "/", body: [], streams: false, dialect: .openAI)
        let result = await generator.run(request, profile: LoadProfile(concurrency: 2, duration: .seconds(60), requestsPerUser: 3))
        #expect(result.samples.count == 6)
        #expect(result.completed == 0)
        #expect(result.failureStatuses == [0: 6])
    }
}
