// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import FoundationEssentials
import Logging

/// What `sparkctl` asks the running daemon, answered from its live state.
extension BridgeDaemon: ControlCommands {
    public func status() async -> StatusReport {
        let configuration = context.configuration
        return StatusReport(
            version: BridgeVersion.current,
            uptimeSeconds: Date().timeIntervalSince(startedAt),
            configPath: options.configPath,
            configLoadedAt: configuration.loadedAt,
            listeners: listeners.map { "http://\($0)" },
            requestsInFlight: context.tracker.requestsInFlight,
            streamsInFlight: context.tracker.streamsInFlight,
            requestsTotal: context.tracker.requestsTotal,
            draining: context.isDraining,
            drainedBackends: context.drainedBackends.sorted()
        )
    }

    public func health() async -> HealthReport {
        context.healthReport()
    }

    public func aliases() async -> AliasesReport {
        AliasesReport(context.configuration.aliases, routing: context.configuration.settings.routing)
    }

    public func reload() async -> Result<ReloadReport, ControlFailure> {
        reloader.reload()
    }

    /// Without a backend: stop taking requests, wait for those in flight up to `timeout` (default the
    /// drain deadline), then cut the rest. With a backend: stop routing to it and wait for its
    /// requests to finish; the others keep serving.
    public func drain(timeout: Duration?, backend: String?) async -> Result<DrainReport, ControlFailure> {
        let deadline = ContinuousClock.now + (timeout ?? context.configuration.settings.drainDeadline)
        if let backend {
            guard context.drainBackend(backend) else {
                let known = context.configuration.backends.map(\.name).joined(separator: ", ")
                return .failure(ControlFailure(message: "no backend named \(backend); known backends: \(known)"))
            }
            logger.notice("backend \(backend) drained: no new requests are routed to it")
            let startCount = context.router.inFlight(backendName: backend)
            let remaining = await context.router.waitUntilIdle(backendName: backend, deadline: deadline)
            return .success(DrainReport(finished: startCount - remaining, cut: 0, draining: context.isDraining))
        }
        context.isDraining = true
        notifier.status(context.statusLine)
        let startCount = context.tracker.requestsInFlight
        logger.notice("draining: new requests get 529; waiting for \(startCount) in flight")
        let remaining = await context.tracker.waitUntilIdle(deadline: deadline)
        let cut = remaining > 0 ? context.tracker.cutAll() : 0
        if cut > 0 { logger.warning("drain timeout: cut \(cut) requests") }
        return .success(DrainReport(finished: max(0, startCount - cut), cut: cut, draining: true))
    }

    public func resume(backend: String?) async -> Result<ResumeReport, ControlFailure> {
        if let backend {
            guard context.resumeBackend(backend) else {
                return .failure(ControlFailure(message: "no backend named \(backend)"))
            }
            logger.notice("backend \(backend) resumed")
        } else {
            context.isDraining = false
            logger.notice("resumed: taking new requests")
        }
        notifier.status(context.statusLine)
        return .success(ResumeReport(draining: context.isDraining))
    }

    public func claudeEnv(alias: String?, withKey: Bool) async -> Result<ClaudeEnvReport, ControlFailure> {
        let configuration = context.configuration
        let table = configuration.aliases
        let names: [String]
        if let alias {
            guard table.resolve(alias) != nil else {
                return .failure(ControlFailure(message: table.unknownModelMessage(alias)))
            }
            guard !(table.alias(named: alias)?.isPattern ?? false) else {
                return .failure(ControlFailure(message: "\(alias) is a pattern: give a model name it matches, e.g. \(ClaudeCodeModels.classes[0].defaultName)"))
            }
            names = ClaudeCodeModels.classes.map { _ in alias }
        } else {
            // Claude Code's own name for each class where it resolves; for the others, a name that
            // does (another class's, else the first exact model_name).
            let resolving = ClaudeCodeModels.classes.map(\.defaultName).filter { table.resolve($0) != nil }
            guard let fallback = resolving.first ?? table.allAliases.first(where: { !$0.isPattern })?.name else {
                return .failure(ControlFailure(message: table.claudeCodeWarning ?? "no model name resolves"))
            }
            names = ClaudeCodeModels.classes.map { resolving.contains($0.defaultName) ? $0.defaultName : fallback }
        }
        let (opus, sonnet, haiku) = (names[0], names[1], names[2])
        let main = opus
        let windows = (table.resolve(main)?.deployments ?? []).compactMap { context.health.maxModelLen(model: $0.model, apiBase: $0.apiBase) }
        let listener = listeners.first ?? configuration.settings.listen.first.map { "\($0)" } ?? "127.0.0.1:4000"
        return .success(ClaudeEnvReport(
            baseURL: "http://" + Self.reachable(listener),
            keyRequired: configuration.masterKey != nil,
            key: withKey ? configuration.masterKey?.value : nil,
            model: main, opusModel: opus, sonnetModel: sonnet, haikuModel: haiku,
            contextWindow: windows.min()
        ))
    }

    /// A wildcard listen address as a client on this machine reaches it.
    static func reachable(_ listener: String) -> String {
        if listener.hasPrefix("0.0.0.0:") { return "127.0.0.1:" + listener.dropFirst("0.0.0.0:".count) }
        if listener.hasPrefix("[::]:") { return "[::1]:" + listener.dropFirst("[::]:".count) }
        return listener
    }

    public func activity() async -> ActivityReport {
        ActivityReport(
            configuration: context.configuration, health: context.healthSnapshot(), board: context.activity,
            draining: context.isDraining, requestsInFlight: context.tracker.requestsInFlight, streamsInFlight: context.tracker.streamsInFlight
        )
    }

    public func trace(alias: String?, bodies: Bool) -> TraceSubscription {
        context.trace.subscribe(alias: alias, bodies: bodies)
    }
}
