// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import ControlProtocol
import Logging
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import VLLMSimulator
@testable import BridgeServer

/// The monitor against in-process vllm-sim servers: states, hysteresis, models, warmups, reloads, stop.
@Suite("health monitor")
struct HealthMonitorTests {
    /// A monitor over its own transport, stopped and shut down after `body`.
    private func withMonitor<T>(
        _ configuration: BridgeConfiguration, logs: LogCapture = LogCapture(), prepare: (HealthMonitor) -> Void = { _ in },
        _ body: (HealthMonitor) async throws -> T
    ) async throws -> T {
        let transport = UpstreamTransport()
        let monitor = HealthMonitor(configuration: configuration, transport: transport, logger: logs.logger)
        prepare(monitor)
        monitor.start()
        defer { transport.shutdown() }
        do {
            let result = try await body(monitor)
            monitor.stop()
            await monitor.waitUntilStopped()
            return result
        } catch {
            monitor.stop()
            await monitor.waitUntilStopped()
            throw error
        }
    }

    @Test("a backend that answers is up with its models and max_model_len, and is warmed once with a 1-token ping")
    func upWithModelsAndWarmup() async throws {
        let sim = SimulatorConfiguration(models: ["qwen-a"], maxModelLen: 40960, coldStartMilliseconds: 150)
        try await withSimulators([sim]) { sims in
            let configuration = testConfiguration([("claude-a", [(sims[0].baseURL, "qwen-a")])])
            try await withMonitor(configuration) { monitor in
                await eventually("the backend is warm") { monitor.snapshot().first?.warm == true }
                let report = try #require(monitor.snapshot().first)
                #expect(report.state == .up)
                #expect(report.name == "127.0.0.1:\(sims[0].port)")
                #expect(report.url == sims[0].baseURL + "/v1")
                #expect(report.models == [BackendModel(id: "qwen-a", maxModelLen: 40960)])
                #expect(report.lastCheck != nil && report.latencyMs != nil && report.lastError == nil)
                // The ping paid the simulated cold start, not a user.
                #expect((report.lastWarmupLatencyMs ?? 0) >= 150)
                #expect(monitor.maxModelLen(model: "qwen-a", apiBase: URL(string: sims[0].baseURL + "/v1")!) == 40960)
                // The simulator records the status once its answer is written, which may be just after the
                // bridge has read it: a loaded run saw nil here.
                await eventually("the simulator recorded the ping's status") { sims[0].warmups.first?.status != nil }
                let pings = sims[0].warmups
                #expect(pings.count == 1)
                #expect(pings.first?.bodyJSON["max_tokens"] == 1)
                #expect(pings.first?.bodyJSON["model"] == "qwen-a")
                #expect(pings.first?.status == 200)
                #expect(sims[0].userCompletions.isEmpty)
                #expect(sims[0].recordedRequests.contains { $0.path == "/v1/models" })
                #expect(monitor.counters.warmupsDone == 1)
            }
        }
    }

    @Test("each round reads the backend's /metrics into the report's load; read_backend_metrics false reads none")
    func readsBackendLoad() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"])]) { sims in
            let configuration = testConfiguration([("a", [(sims[0].baseURL, "m")])])
            try await withMonitor(configuration) { monitor in
                await eventually("the load is read") { monitor.snapshot().first?.load != nil }
                let load = try #require(monitor.snapshot().first?.load)
                #expect(load.running == 0 && load.waiting == 0 && load.kvCacheUsage == 0 && load.queued == 0)
                #expect(monitor.load(of: URL(string: sims[0].baseURL + "/v1")!) == load)
                #expect(sims[0].recordedRequests.contains { $0.path == "/metrics" })
            }
            let off = testConfiguration([("b", [(sims[1].baseURL, "m")])]) { $0.health.readBackendMetrics = false }
            try await withMonitor(off) { monitor in
                await eventually("two checks") { monitor.counters.checks >= 2 }
                #expect(monitor.snapshot().first?.load == nil)
                #expect(!sims[1].recordedRequests.contains { $0.path == "/metrics" })
            }
        }
    }

    @Test("health off: down after failures_before_down failed checks, logged once; on again: up and warmed again")
    func downAndBackUp() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"])]) { sims in
            let sim = sims[0]
            let logs = LogCapture()
            let configuration = testConfiguration([("alias", [(sim.baseURL, "m")])]) { $0.health.failuresBeforeDown = 3 }
            let transitions = NIOLockedValueBox<[(BackendState, BackendState, Int)]>([])
            let prepare: (HealthMonitor) -> Void = { monitor in
                monitor.onStateChange = { [weak monitor] report, previous in
                    transitions.withLockedValue { $0.append((previous, report.state, monitor?.counters.checkFailures ?? -1)) }
                }
            }
            try await withMonitor(configuration, logs: logs, prepare: prepare) { monitor in
                await eventually("the backend is up and warm") { monitor.snapshot().first?.warm == true }
                // Failures counted before this point (a check that timed out on a loaded machine while
                // the backend was coming up) are not part of the streak measured below.
                let failuresBefore = monitor.counters.checkFailures
                sim.isHealthy = false
                await eventually("the backend is down") { monitor.snapshot().first?.state == .down }
                let report = try #require(monitor.snapshot().first)
                #expect(report.lastError == "GET /health: HTTP 503")
                #expect(!report.warm)
                // More failed checks change nothing and log nothing more.
                let checks = monitor.counters.checks
                await eventually("three more checks") { monitor.counters.checks >= checks + 3 }
                #expect(logs.count(.warning, containing: "is down") == 1)
                sim.isHealthy = true
                await eventually("the backend is up and warm again") {
                    monitor.snapshot().first?.state == .up && monitor.snapshot().first?.warm == true
                }
                #expect(sim.warmups.count == 2)
                #expect(sim.warmups.allSatisfy { $0.bodyJSON["max_tokens"] == 1 })
                #expect(logs.count(.notice, containing: "is up") == 2)
                let seen = transitions.withLockedValue { $0 }
                #expect(seen.map { [$0.0, $0.1] } == [[.unknown, .up], [.up, .down], [.down, .up]])
                // Down came with the third consecutive failure, not before.
                #expect(seen.dropFirst().first.map { $0.2 - failuresBefore } == 3)
            }
        }
    }

    @Test("a backend whose server stops is down; once the monitor stops, routing no longer avoids it")
    func stoppedServerIsDown() async throws {
        let sim = try await SimulatorServer.start(configuration: SimulatorConfiguration(models: ["m"]))
        let configuration = testConfiguration([("alias", [(sim.baseURL, "m")])])
        try await withMonitor(configuration) { monitor in
            await eventually("the backend is up") { monitor.snapshot().first?.state == .up }
            try await sim.shutdown()
            await eventually("the backend is down") { monitor.snapshot().first?.state == .down }
            #expect(monitor.snapshot().first?.lastError?.contains("connect") == true)
            let apiBase = try #require(URL(string: sim.baseURL + "/v1"))
            #expect(monitor.availability(of: apiBase) == .down(reason: monitor.snapshot().first?.lastError))
            monitor.stop()
            #expect(monitor.availability(of: apiBase) == .healthy)
            #expect(!monitor.isRunning)
        }
    }

    @Test("warmup.enabled false sends no ping; warmup.interval repeats them")
    func warmupSettings() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"])]) { sims in
            let off = testConfiguration([("a", [(sims[0].baseURL, "m")])]) { $0.warmup.enabled = false }
            try await withMonitor(off) { monitor in
                await eventually("five checks") { monitor.counters.checks >= 5 }
                #expect(monitor.snapshot().first?.state == .up)
                #expect(monitor.snapshot().first?.warm == false)
                #expect(sims[0].warmups.isEmpty)
                #expect(monitor.counters.warmupsDone == 0)
            }
            let repeating = testConfiguration([("b", [(sims[1].baseURL, "m")])]) { $0.warmup.interval = .milliseconds(150) }
            try await withMonitor(repeating) { monitor in
                await eventually("three warmups") { monitor.counters.warmupsDone >= 3 }
                #expect(sims[1].warmups.count >= 3)
                #expect(sims[1].userCompletions.isEmpty)
            }
        }
    }

    @Test("a reload adds and removes backends; a backend that stays keeps its state")
    func followsReloads() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["n"])]) { sims in
            let logs = LogCapture()
            let a = testConfiguration([("alias-a", [(sims[0].baseURL, "m")])])
            let ab = testConfiguration([("alias-a", [(sims[0].baseURL, "m")]), ("alias-b", [(sims[1].baseURL, "n")])])
            let b = testConfiguration([("alias-b", [(sims[1].baseURL, "n")])])
            let context = BridgeContext(configuration: a, transport: UpstreamTransport(), logger: logs.logger)
            defer { context.transport.shutdown() }
            context.health.start()
            await eventually("A is warm") { context.healthSnapshot().first?.warm == true }
            let before = try #require(context.healthSnapshot().first)

            context.replaceConfiguration(ab)
            #expect(context.healthSnapshot().map(\.name) == ["127.0.0.1:\(sims[0].port)", "127.0.0.1:\(sims[1].port)"])
            #expect(context.healthSnapshot().last?.state == .unknown)
            #expect(context.healthSnapshot().first?.state == .up)
            await eventually("B is warm") { context.healthSnapshot().last?.warm == true }
            #expect(context.healthSnapshot().first?.warm == true)
            #expect(context.healthSnapshot().first?.lastWarmupLatencyMs == before.lastWarmupLatencyMs)
            #expect(sims[0].warmups.count == 1)
            #expect(sims[1].warmups.count == 1)

            context.replaceConfiguration(b)
            #expect(context.healthSnapshot().map(\.name) == ["127.0.0.1:\(sims[1].port)"])
            let checksOfA = sims[0].healthChecks
            let checks = context.health.counters.checks
            await eventually("three more checks of B") { context.health.counters.checks >= checks + 3 }
            // A check of A already under way may land; none starts after the reload.
            #expect(sims[0].healthChecks <= checksOfA + 1)
            #expect(logs.count(.info, containing: "no longer watching backend 127.0.0.1:\(sims[0].port)") == 1)
            #expect(logs.count(.info, containing: "watching backend 127.0.0.1:\(sims[1].port)") == 1)
            context.health.stop()
            await context.health.waitUntilStopped()
        }
    }

    @Test("a real vllm-sim process: up and pinged, /sim/health off → down, on → up and pinged again, killed → down")
    func realSimulatorProcess() async throws {
        let sim = try await SimulatorProcess.start(["--model", "qwen-p", "--max-model-len", "16384", "--cold-start-ms", "100"])
        let logs = LogCapture()
        let configuration = testConfiguration([("claude-p", [(sim.baseURL, "qwen-p")])])
        let context = BridgeContext(configuration: configuration, transport: UpstreamTransport(), logger: logs.logger)
        context.health.start()
        do {
            let pings: () async throws -> [JSONValue] = {
                try await sim.recordedRequests().filter { $0["path"] == "/v1/chat/completions" }
            }
            await eventually("the backend is warm") { context.healthSnapshot().first?.warm == true }
            #expect(context.healthSnapshot().first?.models == [BackendModel(id: "qwen-p", maxModelLen: 16384)])
            let first = try await pings()
            #expect(first.count == 1)
            #expect(first.first?["body"]?["max_tokens"] == 1)
            #expect(first.first?["body"]?["messages"] == [["role": "user", "content": "ping"]])

            try await sim.setHealthy(false)
            await eventually("the backend is down") { context.healthSnapshot().first?.state == .down }
            try await sim.setHealthy(true)
            await eventually("the backend is up and warm again") {
                context.healthSnapshot().first?.state == .up && context.healthSnapshot().first?.warm == true
            }
            #expect(try await pings().count == 2)

            await sim.stop()
            await eventually("the backend is down") { context.healthSnapshot().first?.state == .down }
            #expect(logs.count(.warning, containing: "is down") == 2)
            #expect(logs.count(.notice, containing: "is up") == 2)
        } catch {
            Issue.record(error)
        }
        context.health.stop()
        await context.health.waitUntilStopped()
        context.transport.shutdown()
        await sim.shutdown()
    }

    @Test("stop cancels a check that is waiting on a backend that never answers")
    func stopIsPrompt() async throws {
        let silent = try await SilentServer.start()
        let configuration = testConfiguration([("alias", [("http://127.0.0.1:\(silent.port)", "m")])]) {
            $0.health.timeout = .seconds(600)
        }
        let transport = UpstreamTransport()
        defer { transport.shutdown() }
        let monitor = HealthMonitor(configuration: configuration, transport: transport, logger: LogCapture().logger)
        monitor.start()
        await eventually("the check reached the silent server") { silent.opened >= 1 }
        monitor.stop()
        await monitor.waitUntilStopped()
        // The check's connections close now, not after its ten-minute timeout.
        await eventually("the check's connections closed") { silent.closed >= 1 && silent.closed == silent.opened }
        #expect(monitor.snapshot().first?.state == .unknown)
        #expect(monitor.counters.checks == 0)
        try await silent.shutdown()
    }
}

/// A TCP server that accepts connections and never answers, counting opens and closes.
private final class SilentServer: Sendable {
    private let channel: any Channel
    private let counts: NIOLockedValueBox<(opened: Int, closed: Int)>
    let port: Int

    var opened: Int { counts.withLockedValue { $0.opened } }
    var closed: Int { counts.withLockedValue { $0.closed } }

    private init(channel: any Channel, counts: NIOLockedValueBox<(opened: Int, closed: Int)>) {
        self.channel = channel
        self.counts = counts
        port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> SilentServer {
        let counts = NIOLockedValueBox((opened: 0, closed: 0))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Counter(counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return SilentServer(channel: channel, counts: counts)
    }

    func shutdown() async throws {
        try await channel.close()
    }

    private final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let counts: NIOLockedValueBox<(opened: Int, closed: Int)>

        init(counts: NIOLockedValueBox<(opened: Int, closed: Int)>) {
            self.counts = counts
        }

        func channelActive(context: ChannelHandlerContext) {
            counts.withLockedValue { $0.opened += 1 }
        }

        func channelInactive(context: ChannelHandlerContext) {
            counts.withLockedValue { $0.closed += 1 }
        }
    }
}
