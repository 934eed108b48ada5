// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Tells systemd the daemon is ready, then keeps the watchdog fed and `STATUS=` current for as long
/// as the service group runs.
///
/// Readiness: every socket the daemon serves (HTTP listeners, control socket) is bound and accepting
/// before the group runs (`BridgeDaemon.start`), so the group's running moment — this service's
/// start — is when `READY=1` is true: whatever acts on it can connect and be answered. `onReady`
/// runs just before (the `listening on` lines a supervisor reads). The daemon places this service
/// first, so the group shuts it down last: the watchdog is fed through the whole drain.
struct SystemdReporter: Service {
    let notifier: SystemdNotifier
    let context: BridgeContext
    /// Where the pings and status checks run: the HTTP event loops, so a hang stops the pings.
    let eventLoop: any EventLoop
    let onReady: @Sendable () -> Void

    func run() async {
        onReady()
        notifier.ready(status: context.statusLine)
        let watchdog = startWatchdog()
        let status = startStatusUpdates()
        try? await gracefulShutdown()
        watchdog?.cancel()
        status.cancel()
    }

    /// `WATCHDOG=1` at half the interval systemd asked for, sent from an event loop: if the loops hang,
    /// the pings stop and systemd restarts the service.
    private func startWatchdog() -> RepeatedTask? {
        guard let interval = notifier.watchdogInterval else { return nil }
        let (seconds, attoseconds) = interval.components
        let half = TimeAmount.nanoseconds((seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 2)
        let notifier = notifier
        context.logger.info("watchdog: pinging every \(half.nanoseconds / 1_000_000) ms")
        return eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: half) { _ in notifier.watchdogPing() }
    }

    /// Keeps `STATUS=` current, sending only when the line changed.
    private func startStatusUpdates() -> RepeatedTask {
        let lastStatus = NIOLockedValueBox("")
        let (notifier, context) = (notifier, context)
        return eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let line = context.statusLine
            let changed = lastStatus.withLockedValue { last -> Bool in
                defer { last = line }
                return last != line
            }
            if changed { notifier.status(line) }
        }
    }
}

/// Sends `STOPPING=1` (with what is left to drain) as the graceful shutdown starts. The daemon
/// places it last, so the group tells it first, before the HTTP front end drains.
struct SystemdStopAnnouncer: Service {
    let notifier: SystemdNotifier
    let context: BridgeContext

    func run() async {
        try? await gracefulShutdown()
        let deadline = context.configuration.settings.drainDeadline
        notifier.stopping(status: "stopping: draining \(context.tracker.requestsInFlight) requests (deadline \(deadline))")
    }
}

/// Reloads the configuration on every SIGHUP until the group shuts down.
///
/// Takes a sequence trapping SIGHUP made before the group runs: the handler is in place before
/// ``SystemdReporter`` sends `READY=1`, so a `systemctl reload` right after can never meet SIGHUP's
/// default action (terminate).
struct HangupReloader: Service {
    let hangups: UnixSignalsSequence
    let reloader: ConfigReloader

    func run() async {
        for await _ in hangups.cancelOnGracefulShutdown() {
            _ = reloader.reload()
        }
    }
}
