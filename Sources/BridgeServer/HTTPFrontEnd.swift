// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The HTTP side of the daemon: listens on the configured addresses and serves the bridge, on an
/// event-loop group it is given (the daemon's one group, shared with the control socket).
///
/// As a `Service` it serves until the service group shuts down gracefully, then drains: see ``run()``.
public final class HTTPFrontEnd: Sendable {
    public let context: BridgeContext
    private let channels: [any Channel]

    /// How long requests cut at the drain deadline get to end with their error before ``run()`` returns.
    static let cutGrace: Duration = .seconds(2)

    private init(context: BridgeContext, channels: [any Channel]) {
        self.context = context
        self.channels = channels
    }

    /// Starts serving on `eventLoopGroup`: on the listening sockets systemd passed (socket activation),
    /// or else by binding every listen address. Throws when an address cannot be bound. The caller
    /// owns the group: shutting it down closes every connection left.
    public static func start(
        context: BridgeContext, listen: [ListenAddress], activatedSockets: [Int32] = [], eventLoopGroup: any EventLoopGroup
    ) async throws -> HTTPFrontEnd {
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
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
                    channels.append(try await bootstrap.bind(host: address.host, port: address.port).get())
                }
            } else {
                for socket in activatedSockets {
                    channels.append(try await bootstrap.withBoundSocket(socket).get())
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return HTTPFrontEnd(context: context, channels: channels)
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

    /// The addresses actually bound (with the ports the system chose for port 0).
    public var boundAddresses: [String] {
        channels.compactMap { channel in
            guard let address = channel.localAddress, let port = address.port else { return nil }
            let host = address.ipAddress ?? "?"
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// Stops accepting connections; requests in flight go on.
    public func stopAccepting() async {
        for channel in channels { try? await channel.close() }
    }

    /// Stops taking requests, lets those in flight finish until `deadline` passes, then ends the rest
    /// with an Anthropic `overloaded_error` (and gives them ``cutGrace`` to get it out). Returns how
    /// many were cut.
    @discardableResult
    public func drain(deadline: Duration) async -> Int {
        let tracker = context.tracker
        context.logger.notice("stopping: no new connections; waiting up to \(deadline) for \(tracker.requestsInFlight) requests in flight")
        context.isDraining = true
        await stopAccepting()
        guard await tracker.waitUntilIdle(deadline: .now + deadline) > 0 else { return 0 }
        let cut = tracker.cutAll()
        context.logger.warning("drain deadline passed: cut \(cut) requests with an overloaded_error event")
        _ = await tracker.waitUntilIdle(deadline: .now + Self.cutGrace)
        return cut
    }
}

extension HTTPFrontEnd: Service {
    /// Serves (the listeners are open from ``start(context:listen:activatedSockets:eventLoopGroup:)``)
    /// until the group shuts down gracefully, then drains with `drain_deadline_seconds` as read at that
    /// moment: the graceful-shutdown budget of the daemon. Its connections close when the owner shuts
    /// the event-loop group down.
    public func run() async {
        try? await gracefulShutdown()
        await drain(deadline: context.configuration.settings.drainDeadline)
    }
}
