// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The control socket: a Unix stream socket where `sparkctl` sends newline-delimited JSON requests
/// and reads one response line for each, answered by a `ControlCommands`.
///
/// Each connection's peer is checked with `SO_PEERCRED` against a `ControlAccessPolicy`; a refused
/// peer gets one error response, the connection is closed, and the attempt is logged.
public final class ControlServer: Sendable {
    /// Where and how the socket is created.
    public struct Configuration: Sendable {
        /// The socket's path; its parent directory is created when missing.
        public var path: String
        /// The group allowed to use the socket and given the socket file; nil: the daemon's group.
        public var group: String?
        /// The socket file's permission bits.
        public var mode: UInt16 = 0o660
        /// The longest request line read, newline excluded.
        public var maxLineBytes = ControlWire.maxRequestLineBytes

        /// A configuration for `path`, letting in `group`'s members.
        public init(path: String, group: String? = nil) {
            self.path = path
            self.group = group
        }

        /// `spark_bridge.control_socket` and `control_socket_group`.
        public init(settings: BridgeSettings) {
            self.init(path: settings.controlSocket, group: settings.controlSocketGroup)
        }
    }

    /// The socket's path.
    public let path: String
    /// Who may use it.
    public let policy: ControlAccessPolicy
    private let serverChannel: any Channel
    private let acceptLoop: Task<Void, Never>
    private let socketInode: UInt64

    private init(path: String, policy: ControlAccessPolicy, serverChannel: any Channel, acceptLoop: Task<Void, Never>, socketInode: UInt64) {
        self.path = path
        self.policy = policy
        self.serverChannel = serverChannel
        self.acceptLoop = acceptLoop
        self.socketInode = socketInode
    }

    /// Creates the socket and starts answering on it, on `eventLoopGroup` (the daemon passes its one
    /// group; tests may leave NIO's shared one).
    ///
    /// A socket file left by a daemon that is gone is replaced; one a live process answers on is not
    /// (`ControlServerError.socketInUse`). Throws when the group does not exist or the socket cannot be made.
    public static func start(
        configuration: Configuration,
        commands: any ControlCommands,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ControlServer {
        let path = configuration.path
        let policy = try ControlAccessPolicy.forCurrentProcess(groupName: configuration.group)
        try SocketFile.prepare(path)

        let maxLineBytes = configuration.maxLineBytes
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 32)
            // A client that sends its last request and shuts down its side still gets the answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: path) { channel in
                PeerCredentials.of(channel).flatMapThrowing { peer in
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlLineDecoder(maxLength: maxLineBytes)))
                    let connection = try NIOAsyncChannel<ControlLine, ByteBuffer>(wrappingChannelSynchronously: channel)
                    return ControlConnection(peer: peer, channel: connection)
                }
            }
        let inode: UInt64
        do {
            inode = try SocketFile.setPermissions(path, mode: configuration.mode, group: configuration.group == nil ? nil : policy.allowedGroup)
        } catch {
            try? await server.channel.close()
            SocketFile.remove(path, inode: nil)
            throw error
        }

        let dispatcher = ControlDispatcher(commands: commands, maxLineBytes: maxLineBytes)
        let acceptLoop = Task {
            do {
                try await server.executeThenClose { connections in
                    try await withThrowingDiscardingTaskGroup { tasks in
                        for try await connection in connections {
                            tasks.addTask {
                                await serve(connection, policy: policy, dispatcher: dispatcher, logger: logger)
                            }
                        }
                    }
                }
            } catch {
                if !Task.isCancelled { logger.error("control socket stopped: \(error)", metadata: ["CONTROL_SOCKET": "\(path)"]) }
            }
        }
        logger.debug("control socket ready", metadata: ["CONTROL_SOCKET": "\(path)"])
        return ControlServer(path: path, policy: policy, serverChannel: server.channel, acceptLoop: acceptLoop, socketInode: inode)
    }

    /// Stops accepting, closes every control connection (a request being answered is cancelled),
    /// and removes the socket file.
    public func shutdown() async {
        try? await serverChannel.close()
        acceptLoop.cancel()
        await acceptLoop.value
        SocketFile.remove(path, inode: socketInode)
    }

    /// Answers the requests of one connection in order, or refuses the peer.
    private static func serve(_ connection: ControlConnection, policy: ControlAccessPolicy, dispatcher: ControlDispatcher, logger: Logger) async {
        var peer = connection.peer
        var decision = peer.map(policy.decide) ?? .denied
        if decision == .denied, let known = peer {
            peer?.supplementaryGroups = SystemAccounts.groups(ofUser: known.uid)
            decision = peer.map(policy.decide) ?? .denied
        }
        var metadata: Logger.Metadata = [:]
        if let peer {
            metadata = ["PEER_UID": "\(peer.uid)", "PEER_GID": "\(peer.gid)", "PEER_PID": "\(peer.pid)"]
        }
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                guard decision.isAllowed else {
                    logger.warning("control connection refused: not root, the daemon's user or a member of group \(policy.allowedGroup)", metadata: metadata)
                    let who = peer.map { "uid \($0.uid)" } ?? "an unidentified peer"
                    let refusal = ControlDispatcher.failure(ControlFailure(
                        message: "permission denied: \(who) may not use the spark-bridge control socket (allowed: root, the daemon's user, members of the control_socket_group)"
                    ))
                    try await outbound.write(ByteBuffer(bytes: refusal))
                    return
                }
                var lines = inbound.makeAsyncIterator()
                while let line = try await lines.next() {
                    let response: Data
                    switch dispatcher.parse(line) {
                    case .success(.trace(let alias, let bodies)):
                        logger.info("control: trace\(bodies ? " with bodies" : "")", metadata: metadata.merging(["VERB": "trace"]) { $1 })
                        if bodies, let known = peer, !policy.mayReadBodies(known), known.supplementaryGroups.isEmpty {
                            peer?.supplementaryGroups = SystemAccounts.groups(ofUser: known.uid)
                        }
                        let start = dispatcher.startTrace(alias: alias, bodies: bodies, peerMayReadBodies: peer.map(policy.mayReadBodies) ?? false)
                        try await outbound.write(ByteBuffer(bytes: start.line))
                        guard let subscription = start.subscription else { continue }
                        // Events flow until the reader closes its end; anything it sends meanwhile is ignored.
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await relay(subscription, to: outbound) }
                            while try await lines.next() != nil {}
                            group.cancelAll()
                        }
                        return
                    case .success(let request):
                        // Changes are worth a line in the journal; the read-only verbs are polled.
                        let level: Logger.Level = [.reload, .drain, .resume].contains(request.verb) ? .info : .debug
                        logger.log(level: level, "control: \(request.verb.rawValue)", metadata: metadata.merging(["VERB": "\(request.verb.rawValue)"]) { $1 })
                        response = await dispatcher.respond(to: request)
                    case .failure(let error):
                        logger.debug("control: bad request: \(error)", metadata: metadata)
                        response = ControlDispatcher.failure(ControlFailure(message: error.description))
                    }
                    try await outbound.write(ByteBuffer(bytes: response))
                }
            }
        } catch {
            logger.debug("control connection ended: \(error)", metadata: metadata)
        }
    }

    /// Writes `subscription`'s events as lines until cancelled, each followed by a `dropped` event
    /// when the reader's queue overflowed meanwhile. A slow reader slows only this loop.
    private static func relay(_ subscription: TraceSubscription, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        for await event in subscription.events {
            if let line = ControlDispatcher.line(event) { try await outbound.write(ByteBuffer(bytes: line)) }
            let dropped = subscription.takeDropped()
            if dropped > 0, let line = ControlDispatcher.line(TraceEvent(event: .dropped, dropped: dropped)) {
                try await outbound.write(ByteBuffer(bytes: line))
            }
        }
    }
}

extension ControlServer: Service {
    /// Answers (the socket is open from ``start(configuration:commands:logger:eventLoopGroup:)``) until
    /// the group shuts down gracefully, then ``shutdown()``: the daemon places it before the HTTP front
    /// end, so `sparkctl` still sees a drain at shutdown through to its end.
    public func run() async {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// An accepted control connection and who is at its other end.
struct ControlConnection: Sendable {
    let peer: PeerCredentials?
    let channel: NIOAsyncChannel<ControlLine, ByteBuffer>
}
