// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP side of the daemon: listens on the configured addresses and serves the bridge.
public final class BridgeServer: Sendable {
    public let context: BridgeContext
    private let group: MultiThreadedEventLoopGroup
    private let channels: [any Channel]

    private init(context: BridgeContext, group: MultiThreadedEventLoopGroup, channels: [any Channel]) {
        self.context = context
        self.group = group
        self.channels = channels
    }

    /// Starts serving: on the listening sockets systemd passed (socket activation), or else by binding
    /// every listen address. Throws when an address cannot be bound.
    public static func start(
        context: BridgeContext, listen: [ListenAddress], activatedSockets: [Int32] = [], threads: Int = System.coreCount
    ) throws -> BridgeServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 128 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configureConnection(channel, context: context)
                }
            }
        var channels: [any Channel] = []
        do {
            if activatedSockets.isEmpty {
                for address in listen {
                    channels.append(try bootstrap.bind(host: address.host, port: address.port).wait())
                }
            } else {
                for socket in activatedSockets {
                    channels.append(try bootstrap.withBoundSocket(socket).wait())
                }
            }
        } catch {
            for channel in channels { try? channel.close().wait() }
            try? group.syncShutdownGracefully()
            throw error
        }
        return BridgeServer(context: context, group: group, channels: channels)
    }

    /// Admits a new client connection against `limits.max_connections` and sets up its pipeline:
    /// `ConnectionEdge` on the raw bytes, NIO's HTTP/1 server handlers (with its 400 for requests it
    /// cannot parse), then the bridge's `HTTPConnectionHandler`.
    private static func configureConnection(_ channel: any Channel, context: BridgeContext) throws {
        let limits = context.configuration.settings.limits
        let (admission, report, open) = context.connections.opened(limit: limits.maxConnections, spare: ConnectionLimits.spareConnections)
        if let report {
            context.logger.warning(
                "connection limit reached: \(report.limit) client connections open (limits.max_connections); \(report.turnedAway) new connection(s) answered 503 or closed since the last report",
                metadata: ["OPEN_CONNECTIONS": "\(open)"]
            )
        }
        guard admission != .refuse else {
            context.metrics.recordConnectionCut(.overLimit)
            channel.close(promise: nil)
            return
        }
        context.metrics.recordConnections(open: open)
        let connections = context.connections
        let metrics = context.metrics
        channel.closeFuture.whenComplete { _ in
            metrics.recordConnections(open: connections.closed())
        }
        let handler = HTTPConnectionHandler(bridge: context, limits: limits, overLimit: admission == .spare)
        let edge = ConnectionEdge { [weak handler] in handler?.bytesReceived() }
        handler.edge = edge
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(edge)
        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
        try pipeline.addHandler(handler)
    }

    /// An event loop of the server, for periodic work that must stop if the loops hang (watchdog).
    public var eventLoop: any EventLoop { group.next() }

    /// The addresses actually bound (with the ports the system chose for port 0).
    public var boundAddresses: [String] {
        channels.compactMap { channel in
            guard let address = channel.localAddress, let port = address.port else { return nil }
            let host = address.ipAddress ?? "?"
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// Stops accepting connections; requests in flight go on.
    public func stopAccepting() {
        for channel in channels { try? channel.close().wait() }
    }

    /// Closes every connection and stops the event loops and the upstream transport.
    public func shutdown() {
        stopAccepting()
        try? group.syncShutdownGracefully()
        context.transport.shutdown()
    }
}
