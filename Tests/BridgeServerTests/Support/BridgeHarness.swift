// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import ControlProtocol
import NIOCore
import NIOPosix
import Testing
@testable import BridgeServer

/// A real bridge on a loopback port (chosen by the system) with its health monitor running, and a
/// client (its own libcurl transport) to talk to it over real sockets.
final class BridgeHarness: Sendable {
    let context: BridgeContext
    let server: HTTPFrontEnd
    let port: Int
    private let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let client = UpstreamTransport(configuration: .init(threadName: "test-client"))

    init(_ configuration: BridgeConfiguration, logs: LogCapture = LogCapture(), startMonitor: Bool = true) async throws {
        context = BridgeContext(configuration: configuration, transport: UpstreamTransport(), logger: logs.logger)
        server = try await HTTPFrontEnd.start(context: context, listen: [ListenAddress(parsing: "127.0.0.1:0")], eventLoopGroup: eventLoopGroup)
        let bound = server.boundAddresses.first ?? ""
        port = Int(bound.split(separator: ":").last ?? "") ?? 0
        if startMonitor { context.health.start() }
    }

    /// Stops the monitor, the server and the client.
    func shutdown() async {
        context.health.stop()
        await context.health.waitUntilStopped()
        await server.stopAccepting()
        try? await eventLoopGroup.shutdownGracefully()
        context.transport.shutdown()
        client.shutdown()
    }

    /// One request to the bridge; a transport failure fails the test.
    func send(_ method: String, _ path: String, body: JSONValue? = nil, rawBody: [UInt8]? = nil) async throws -> FetchedResponse {
        let request = UpstreamRequest(
            method: method, url: "http://127.0.0.1:\(port)\(path)",
            headers: [("content-type", "application/json"), ("anthropic-version", "2023-06-01")],
            body: rawBody ?? body?.jsonBytes ?? [],
            timeouts: UpstreamTimeouts(connect: .seconds(5), firstByte: .seconds(30), idle: .seconds(30))
        )
        return try await UpstreamFetch.fetch(request, on: client).get()
    }

    /// `POST /v1/messages` for `model` with one user message.
    func message(_ model: String, text: String = "hi", stream: Bool = false) async throws -> FetchedResponse {
        try await send("POST", "/v1/messages", body: [
            "model": .string(model), "max_tokens": 64, "stream": .bool(stream),
            "messages": [["role": "user", "content": .string(text)]],
        ])
    }

    /// User requests in flight on every backend together.
    var inFlight: Int { context.healthSnapshot().reduce(0) { $0 + $1.inFlight } }

    /// The report of the backend at `base` (a simulator's base URL).
    func report(_ base: String) -> BackendHealth? {
        context.healthSnapshot().first { $0.url == base + "/v1" }
    }
}

extension FetchedResponse {
    var json: JSONValue? { try? JSONParser.parse(body) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs `body` with a harness and shuts it down afterwards.
func withBridge<T>(_ configuration: BridgeConfiguration, logs: LogCapture = LogCapture(), _ body: (BridgeHarness) async throws -> T) async throws -> T {
    let harness = try await BridgeHarness(configuration, logs: logs)
    do {
        let result = try await body(harness)
        await harness.shutdown()
        return result
    } catch {
        await harness.shutdown()
        throw error
    }
}
