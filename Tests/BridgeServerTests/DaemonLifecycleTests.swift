// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream
import ControlProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing
@testable import BridgeServer

/// What the daemon's services tell systemd, and when: recorded instead of sent.
@Suite(.timeLimit(.minutes(1)))
struct DaemonLifecycleTests {
    /// Notifications and events, in the order they happened.
    final class Recorder: Sendable {
        private let stored = NIOLockedValueBox<[String]>([])
        var events: [String] { stored.withLockedValue { $0 } }
        func record(_ event: String) { stored.withLockedValue { $0.append(event) } }
        func index(of prefix: String) -> Int? { events.firstIndex { $0.hasPrefix(prefix) } }
        func notifier(watchdog: Duration? = nil) -> SystemdNotifier {
            SystemdNotifier(watchdogInterval: watchdog) { [self] in record($0) }
        }
    }

    /// A service made of a closure, standing in for the front end.
    struct StandIn: Service {
        let body: @Sendable () async -> Void
        func run() async { await body() }
    }

    private func context() -> BridgeContext {
        BridgeContext(configuration: testConfiguration([("claude-x", [("http://127.0.0.1:9", "m")])]), transport: UpstreamTransport(), logger: LogCapture().logger)
    }

    @Test func readyComesAfterOnReadyAndStoppingBeforeTheDrainWithTheWatchdogFedThroughout() async throws {
        let recorder = Recorder()
        let notifier = recorder.notifier(watchdog: .milliseconds(20))
        let context = context()
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let group = ServiceGroup(services: [
            SystemdReporter(notifier: notifier, context: context, eventLoop: loops.next(), onReady: { recorder.record("onReady") }),
            StandIn {
                try? await gracefulShutdown()
                recorder.record("drain")
                // The reporter, shut down after this service, still pings while it drains.
                let pings = recorder.events.filter { $0 == "WATCHDOG=1" }.count
                await eventually("a ping during the drain") { recorder.events.filter { $0 == "WATCHDOG=1" }.count > pings }
                recorder.record("drained")
            },
            SystemdStopAnnouncer(notifier: notifier, context: context),
        ], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        await eventually("a watchdog ping") { recorder.events.contains("WATCHDOG=1") }
        await group.triggerGracefulShutdown()
        try await running.value
        try await loops.shutdownGracefully()
        context.transport.shutdown()

        let events = recorder.events
        #expect(events.first == "onReady")
        #expect(events.dropFirst().first?.hasPrefix("READY=1\nSTATUS=1 aliases, ") == true)
        let stopping = try #require(recorder.index(of: "STOPPING=1\nSTATUS=stopping: draining 0 requests"))
        let drain = try #require(recorder.index(of: "drain"))
        #expect(stopping < drain)
        #expect(recorder.index(of: "drained") != nil)
    }

    @Test func withoutAWatchdogIntervalNoPingIsSent() async throws {
        let recorder = Recorder()
        let context = context()
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let group = ServiceGroup(services: [
            SystemdReporter(notifier: recorder.notifier(), context: context, eventLoop: loops.next(), onReady: {}),
        ], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        await eventually("ready") { recorder.index(of: "READY=1") != nil }
        await group.triggerGracefulShutdown()
        try await running.value
        try await loops.shutdownGracefully()
        context.transport.shutdown()
        #expect(!recorder.events.contains("WATCHDOG=1"))
    }

    @Test func theHealthMonitorAsAServiceRunsUntilTheGroupShutsDownGracefully() async throws {
        let context = context()
        let group = ServiceGroup(services: [context.health], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        await eventually("the monitor runs") { context.health.isRunning }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!context.health.isRunning)
        context.transport.shutdown()
    }

    @Test func aReloadIsReloadingThenReadyAndARefusedOneKeepsTheRunningConfiguration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("config.yaml").path
        func write(_ aliases: [String], extra: String = "") throws {
            let models = aliases.map { "  - model_name: \($0)\n    litellm_params:\n      model: openai/m\n      api_base: http://127.0.0.1:9/v1\n" }
            try ("model_list:\n" + models.joined() + "spark_bridge:\n  warmup:\n    enabled: false\n" + extra).write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(["claude-x"])
        let loaded = try ConfigLoader.load(path: path, environment: [:])
        let context = BridgeContext(configuration: loaded.configuration, transport: UpstreamTransport(), logger: LogCapture().logger)
        defer { context.transport.shutdown() }
        let recorder = Recorder()
        let reloader = ConfigReloader(path: path, context: context, environment: [:], notifier: recorder.notifier())

        try write(["claude-x", "claude-extra"])
        let applied = try reloader.reload().get()
        #expect(applied.added == ["claude-extra"])
        #expect(context.configuration.aliases.allAliases.map(\.name) == ["claude-x", "claude-extra"])
        #expect(recorder.events.count == 2)
        #expect(recorder.events.first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        #expect(recorder.events.last?.hasPrefix("READY=1\nSTATUS=2 aliases") == true)

        try write(["claude-x"], extra: "  timeouts: [broken\n")
        let refused = reloader.reload()
        guard case .failure(let failure) = refused else {
            Issue.record("a broken file was applied")
            return
        }
        #expect(failure.message.contains("config.yaml:"))
        #expect(context.configuration.aliases.allAliases.map(\.name) == ["claude-x", "claude-extra"])
        #expect(recorder.events.dropFirst(2).map { String($0.prefix(24)) } == ["RELOADING=1\nMONOTONIC_US", "STATUS=reload rejected: ", "READY=1"])
    }
}
