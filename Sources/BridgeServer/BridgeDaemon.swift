// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import ControlProtocol
import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The service around the server: loads the configuration, binds every socket, then runs the daemon's
/// parts as services of one `ServiceGroup` — telling systemd where it stands, reloading on SIGHUP and
/// draining on SIGTERM/SIGINT.
///
/// The group's services, in order; a graceful shutdown (SIGTERM, SIGINT) ends them in reverse:
/// 1. ``SystemdReporter``: `READY=1`, watchdog pings and `STATUS=` until the very end.
/// 2. ``HealthMonitor``: checks and warms the backends.
/// 3. ``ControlServer``: the control socket for `sparkctl` (when it could be opened).
/// 4. ``HangupReloader``: SIGHUP runs the one ``ConfigReloader/reload()``.
/// 5. ``HTTPFrontEnd``: serves; at shutdown stops accepting and drains until `drain_deadline_seconds`,
///    then cuts the rest with an Anthropic `overloaded_error`.
/// 6. ``SystemdStopAnnouncer``: `STOPPING=1`, first thing at shutdown.
///
/// The graceful-shutdown budget is `drain_deadline_seconds` as read when the shutdown starts (a reload
/// may have changed it since the group was made), applied by the front end, which cuts what is left
/// at the deadline; so the group itself is given no `maximumGracefulShutdownDuration`.
///
/// The HTTP front end and the control socket share one event-loop group, owned here and shut down
/// once the services have ended, then the upstream transport.
public final class BridgeDaemon: Sendable {
    /// Command-line choices.
    public struct Options: Sendable {
        public var configPath: String
        /// Replaces the configured listen addresses when not empty.
        public var listen: [ListenAddress]
        public var controlSocket: String?

        public init(configPath: String, listen: [ListenAddress] = [], controlSocket: String? = nil) {
            self.configPath = configPath
            self.listen = listen
            self.controlSocket = controlSocket
        }
    }

    public let options: Options
    public let context: BridgeContext
    public let startedAt = Date()
    /// The one reload, for SIGHUP and `sparkctl reload`.
    public let reloader: ConfigReloader
    let logger: Logger
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    private let frontEnd: HTTPFrontEnd
    let notifier: SystemdNotifier

    private init(
        options: Options, context: BridgeContext, eventLoopGroup: MultiThreadedEventLoopGroup, frontEnd: HTTPFrontEnd,
        notifier: SystemdNotifier, logger: Logger
    ) {
        self.options = options
        self.context = context
        self.eventLoopGroup = eventLoopGroup
        self.frontEnd = frontEnd
        self.notifier = notifier
        self.logger = logger
        reloader = ConfigReloader(path: options.configPath, context: context, environment: ProcessInfo.processInfo.environment, notifier: notifier)
    }

    /// Loads the configuration and binds the HTTP listeners; throws (after logging why) when the
    /// configuration is bad or a listener cannot be bound. Nothing is announced to systemd until
    /// ``run(onReady:)``.
    public static func start(options: Options, logger: Logger, notifier: SystemdNotifier = .system) async throws -> BridgeDaemon {
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader.load(path: options.configPath, environment: ProcessInfo.processInfo.environment)
        } catch {
            logger.critical("\(error)")
            throw error
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        if let warning = loaded.configuration.aliases.claudeCodeWarning { logger.warning("\(warning)") }
        let listen = options.listen.isEmpty ? loaded.configuration.settings.listen : options.listen
        let activated = ActivatedSockets.take().sockets.filter { $0.name != "control" }
        if loaded.configuration.masterKey == nil, activated.isEmpty, listen.contains(where: { !$0.isLoopback }) {
            logger.warning("LISTENING ON A NON-LOOPBACK ADDRESS WITHOUT A master_key: anyone who can reach this port can use your GPUs. Set spark_bridge.master_key or general_settings.master_key.")
        }
        if let shortage = FileDescriptorLimit.ensure(for: loaded.configuration.settings.limits) { logger.warning("\(shortage)") }
        let context = BridgeContext(configuration: loaded.configuration, transport: UpstreamTransport(), logger: logger)
        let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let frontEnd: HTTPFrontEnd
        do {
            frontEnd = try await HTTPFrontEnd.start(context: context, listen: listen, activatedSockets: activated.map(\.fd), eventLoopGroup: eventLoopGroup)
        } catch {
            logger.critical("cannot listen on \(listen.map(\.description).joined(separator: ", ")): \(error)")
            try? await eventLoopGroup.shutdownGracefully()
            context.transport.shutdown()
            throw error
        }
        let daemon = BridgeDaemon(options: options, context: context, eventLoopGroup: eventLoopGroup, frontEnd: frontEnd, notifier: notifier, logger: logger)
        if !activated.isEmpty { logger.info("serving on \(activated.count) socket(s) passed by systemd") }
        logger.info("serving \(loaded.configuration.aliases.allAliases.count) aliases from \(options.configPath) on \(frontEnd.boundAddresses.joined(separator: ", "))")
        return daemon
    }

    /// The addresses served.
    public var listeners: [String] { frontEnd.boundAddresses }

    /// Opens the control socket, then runs the services until SIGTERM or SIGINT has drained and
    /// stopped them (see the type's documentation for their order); `onReady` runs when the group
    /// starts, just before `READY=1`. Then shuts down the event loops, closing what connections are
    /// left, and the upstream transport.
    ///
    /// Without a control socket (no permission on its directory, say) the bridge still serves; the log
    /// says why sparkctl cannot reach it.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        let controlServer = await Self.openControlSocket(
            options: options, settings: context.configuration.settings, commands: self, eventLoopGroup: eventLoopGroup, logger: logger
        )
        var services: [any Service] = [
            SystemdReporter(notifier: notifier, context: context, eventLoop: eventLoopGroup.next(), onReady: onReady),
            context.health,
        ]
        if let controlServer { services.append(controlServer) }
        services += [
            HangupReloader(hangups: await UnixSignalsSequence(trapping: .sighup), reloader: reloader),
            frontEnd,
            SystemdStopAnnouncer(notifier: notifier, context: context),
        ]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        ))
        defer { logger.notice("stopped") }
        do {
            try await group.run()
        } catch {
            logger.error("stopping: \(error)")
            await stopResources()
            throw error
        }
        await stopResources()
    }

    private func stopResources() async {
        try? await eventLoopGroup.shutdownGracefully()
        context.transport.shutdown()
    }

    /// Opens the control socket for sparkctl, or logs why it cannot.
    private static func openControlSocket(
        options: Options, settings: BridgeSettings, commands: any ControlCommands, eventLoopGroup: any EventLoopGroup, logger: Logger
    ) async -> ControlServer? {
        var configured = settings
        if let path = options.controlSocket { configured.controlSocket = path }
        do {
            let server = try await ControlServer.start(configuration: .init(settings: configured), commands: commands, logger: logger, eventLoopGroup: eventLoopGroup)
            logger.info("control socket: \(configured.controlSocket)")
            return server
        } catch {
            logger.warning("control socket \(configured.controlSocket) unavailable, sparkctl cannot reach this daemon: \(error)")
            return nil
        }
    }
}
