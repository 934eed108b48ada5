// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import ControlProtocol
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The service around the server: loads the configuration, serves, tells systemd where it stands,
/// reloads on SIGHUP and drains on SIGTERM/SIGINT.
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

    /// The outcome of a reload.
    public enum ReloadOutcome: Sendable {
        case applied(ConfigDiff, warnings: [ConfigDiagnostic])
        case rejected(ConfigError)
    }

    public let options: Options
    public let context: BridgeContext
    public let startedAt = Date()
    private let server: BridgeServer
    let logger: Logger
    private let controlServer = NIOLockedValueBox<ControlServer?>(nil)
    private let lastStatus = NIOLockedValueBox("")
    private let reloadLock = NIOLock()
    private let stopSignal = DispatchSemaphore(value: 0)

    private init(options: Options, context: BridgeContext, server: BridgeServer, logger: Logger) {
        self.options = options
        self.context = context
        self.server = server
        self.logger = logger
    }

    /// Loads the configuration and starts serving; throws (after logging why) when it cannot.
    public static func start(options: Options, logger: Logger) throws -> BridgeDaemon {
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
        let server: BridgeServer
        do {
            server = try BridgeServer.start(context: context, listen: listen, activatedSockets: activated.map(\.fd))
        } catch {
            logger.critical("cannot listen on \(listen.map(\.description).joined(separator: ", ")): \(error)")
            context.transport.shutdown()
            throw error
        }
        let daemon = BridgeDaemon(options: options, context: context, server: server, logger: logger)
        if !activated.isEmpty { logger.info("serving on \(activated.count) socket(s) passed by systemd") }
        logger.info("serving \(loaded.configuration.aliases.allAliases.count) aliases from \(options.configPath) on \(server.boundAddresses.joined(separator: ", "))")
        return daemon
    }

    /// The addresses served.
    public var listeners: [String] { server.boundAddresses }

    /// Installs the signal handlers, opens the control socket, starts the health monitor, then
    /// announces readiness (`onReady`, and READY=1 to systemd) — so nothing that acts on the
    /// announcement can meet a half-started daemon — and blocks until SIGTERM or SIGINT, then drains
    /// and stops. SIGHUP reloads.
    public func runUntilStopped(onReady: () -> Void = {}) {
        let signalSources = installSignalHandlers()
        defer { signalSources.forEach { $0.cancel() } }
        context.health.start()
        startControlSocket()
        onReady()
        SystemdNotifier.ready(status: statusLine())
        startWatchdog()
        startStatusUpdates()
        stopSignal.wait()
        drainAndStop()
    }

    /// Asks the daemon to stop as if it got SIGTERM.
    public func requestStop() {
        stopSignal.signal()
    }

    /// Re-reads the configuration file and swaps it in atomically; a bad file leaves the running
    /// configuration in place. Requests in flight finish on the snapshot they started with.
    @discardableResult
    public func reload() -> ReloadOutcome {
        reloadLock.withLock {
            SystemdNotifier.reloading()
            let old = context.configuration
            do throws(ConfigError) {
                let loaded = try ConfigLoader.load(path: options.configPath, environment: ProcessInfo.processInfo.environment)
                for warning in loaded.warnings { logger.warning("\(warning)") }
                if let shortage = FileDescriptorLimit.ensure(for: loaded.configuration.settings.limits) { logger.warning("\(shortage)") }
                if let warning = loaded.configuration.aliases.claudeCodeWarning { logger.warning("\(warning)") }
                context.replaceConfiguration(loaded.configuration)
                let diff = ConfigDiff(from: old, to: loaded.configuration)
                let summary = diff.isEmpty ? "no changes" : diff.lines.joined(separator: "; ")
                logger.notice("configuration reloaded from \(options.configPath): \(summary)")
                SystemdNotifier.ready(status: statusLine())
                return .applied(diff, warnings: loaded.warnings)
            } catch {
                logger.error("reload rejected, the running configuration stays: \(error)")
                SystemdNotifier.status("reload rejected: \(error.diagnostics.first.map(\.description) ?? "\(error)") | \(statusLine())")
                SystemdNotifier.notify("READY=1")
                return .rejected(error)
            }
        }
    }

    /// One line for `systemctl status`: aliases, backends, streams, draining.
    public func statusLine() -> String {
        let configuration = context.configuration
        let backends = context.healthSnapshot()
        var parts = [
            "\(configuration.aliases.allAliases.count) aliases",
            "\(backends.filter { $0.state == .up }.count)/\(backends.count) backends up",
            "\(context.tracker.requestsInFlight) requests / \(context.tracker.streamsInFlight) streams in flight",
        ]
        if context.isDraining { parts.append("draining") }
        return parts.joined(separator: ", ")
    }

    /// Signal handling; the returned sources must be kept alive while the daemon runs.
    private func installSignalHandlers() -> [any DispatchSourceSignal] {
        var sources: [any DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "spark-bridge.signals")
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [self] in
                if signalNumber == SIGHUP {
                    _ = reload()
                } else {
                    stopSignal.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
        return sources
    }

    /// `WATCHDOG=1` at half the interval systemd asked for, sent from an event loop: if the loops hang,
    /// the pings stop and systemd restarts the service.
    private func startWatchdog() {
        guard let interval = SystemdNotifier.watchdogInterval else { return }
        let half = TimeAmount.nanoseconds(interval.nanoseconds / 2)
        server.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: half) { _ in
            SystemdNotifier.watchdogPing()
        }
        logger.info("watchdog: pinging every \(half.nanoseconds / 1_000_000) ms")
    }

    /// Keeps `STATUS=` current, sending only when the line changed.
    private func startStatusUpdates() {
        server.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            let line = statusLine()
            let changed = lastStatus.withLockedValue { last -> Bool in
                defer { last = line }
                return last != line
            }
            if changed { SystemdNotifier.status(line) }
        }
    }

    /// Stops accepting, lets requests in flight finish until the drain deadline, ends the rest with an
    /// Anthropic error, and stops.
    private func drainAndStop() {
        let deadline = context.configuration.settings.drainDeadline
        SystemdNotifier.stopping(status: "stopping: draining \(context.tracker.requestsInFlight) requests (deadline \(deadline))")
        logger.notice("stopping: no new connections; waiting up to \(deadline) for \(context.tracker.requestsInFlight) requests in flight")
        context.isDraining = true
        server.stopAccepting()
        let remaining = waitForIdle(until: .now + deadline)
        if remaining > 0 {
            let cut = context.tracker.cutAll()
            logger.warning("drain deadline passed: cut \(cut) requests with an overloaded_error event")
            _ = waitForIdle(until: .now + .seconds(2))
        }
        // The monitor stops before the transport does, or every check in flight is cancelled noisily.
        context.health.stop()
        stopControlSocket()
        server.shutdown()
        logger.notice("stopped")
    }

    /// Opens the control socket for sparkctl. Without it (no permission on its directory, say) the
    /// bridge still serves; the log says why sparkctl cannot reach it.
    private func startControlSocket() {
        var configured = context.configuration.settings
        if let path = options.controlSocket { configured.controlSocket = path }
        let settings = configured
        let logger = logger
        let box = controlServer
        let commands = self
        blockingWait {
            do {
                let server = try await ControlServer.start(configuration: .init(settings: settings), commands: commands, logger: logger)
                box.withLockedValue { $0 = server }
                logger.info("control socket: \(settings.controlSocket)")
            } catch {
                logger.warning("control socket \(settings.controlSocket) unavailable, sparkctl cannot reach this daemon: \(error)")
            }
        }
    }

    private func stopControlSocket() {
        guard let server = controlServer.withLockedValue({ $0 }) else { return }
        blockingWait { await server.shutdown() }
    }

    /// Runs async work to completion from a plain thread.
    private func blockingWait(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }

    private func waitForIdle(until deadline: ContinuousClock.Instant) -> Int {
        let result = NIOLockedValueBox(0)
        let tracker = context.tracker
        blockingWait {
            let remaining = await tracker.waitUntilIdle(deadline: deadline)
            result.withLockedValue { $0 = remaining }
        }
        return result.withLockedValue { $0 }
    }
}
