// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOHTTP1
import NIOPosix

/// A running vLLM simulator: an HTTP/1.1 server on NIO event loops.
///
/// ```swift
/// let server = try await SimulatorServer.start(configuration: SimulatorConfiguration(port: 0))
/// print(server.baseURL)  // http://127.0.0.1:54321
/// try await server.shutdown()
/// ```
public final class SimulatorServer: Sendable {
    /// The configuration the server runs with.
    public var configuration: SimulatorConfiguration { state.configuration }
    /// The bound port (the real one when the configuration asked for port 0).
    public let port: Int
    /// `http://HOST:PORT`.
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)"
    }

    private let state: SimulatorState
    private let channel: any Channel
    /// The event loop group the server created and therefore shuts down; `nil` when it was given one.
    private let ownedGroup: MultiThreadedEventLoopGroup?

    private init(state: SimulatorState, channel: any Channel, ownedGroup: MultiThreadedEventLoopGroup?) {
        self.state = state
        self.channel = channel
        self.ownedGroup = ownedGroup
        port = channel.localAddress?.port ?? 0
    }

    /// Binds and starts serving.
    ///
    /// - Parameter group: the event loops to run on; by default a new group with one thread per core,
    ///   shut down by ``shutdown()``.
    public static func start(
        configuration: SimulatorConfiguration,
        group: (any EventLoopGroup)? = nil
    ) async throws -> SimulatorServer {
        let ownedGroup = group == nil ? MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount) : nil
        let loops: any EventLoopGroup = group ?? ownedGroup!
        let state = SimulatorState(configuration: configuration)
        do {
            let channel = try await ServerBootstrap(group: loops)
                .serverChannelOption(.backlog, value: 4096)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(SimulatorHTTPHandler(state: state))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            return SimulatorServer(state: state, channel: channel, ownedGroup: ownedGroup)
        } catch {
            try? await ownedGroup?.shutdownGracefully()
            throw error
        }
    }

    /// Every request received so far (except `/sim/…` control requests), oldest first.
    public var recordedRequests: [RecordedRequest] { state.recordedRequests }

    /// Forgets the recorded requests.
    public func resetRecordedRequests() { state.resetRecord() }

    /// Whether `GET /health` answers 200 (else 503).
    public var isHealthy: Bool {
        get { state.isHealthy }
        set { state.isHealthy = newValue }
    }

    /// Waits until the listening socket closes (after ``shutdown()``).
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// Stops listening and, when the server made its own event loops, shuts them down (which ends
    /// open connections).
    public func shutdown() async throws {
        try? await channel.close()
        try await ownedGroup?.shutdownGracefully()
    }
}
