// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import Foundation
import NIOPosix
import Testing
import VLLMSimulator

/// A configuration made in code (validation would not allow the short intervals with long timeouts
/// the tests want): `pools` are aliases with their `(sim base URL, model)` deployments.
func testConfiguration(_ pools: [(alias: String, deployments: [(base: String, model: String)])], tune: (inout BridgeSettings) -> Void = { _ in }) -> BridgeConfiguration {
    var settings = BridgeSettings()
    settings.health.interval = .milliseconds(100)
    settings.health.timeout = .seconds(2)
    settings.health.failuresBeforeDown = 2
    settings.health.successesBeforeUp = 1
    settings.timeouts.connect = .seconds(2)
    settings.timeouts.firstByte = .seconds(20)
    settings.timeouts.idle = .seconds(20)
    tune(&settings)
    let location = BridgeConfig.SourceLocation(file: "test.yaml", line: 1, column: 1)
    let aliases = pools.map { pool in
        AliasTable.Alias(
            name: pool.alias,
            deployments: pool.deployments.map { Deployment(model: $0.model, apiBase: URL(string: $0.base + "/v1")!, apiKey: nil) },
            location: location
        )
    }
    return BridgeConfiguration(settings: settings, aliases: AliasTable(aliases: aliases), masterKey: nil, sourcePath: "test.yaml", loadedAt: Date())
}

/// Polls `condition` until it holds, for at most `timeout` (generous: the tests assert what happens,
/// never how fast). Records a failure naming `what` when it never holds.
@discardableResult
func eventually(
    _ what: String, timeout: Duration = .seconds(15), sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    let holds = try await condition()
    #expect(holds, "timed out waiting until \(what)", sourceLocation: sourceLocation)
    return holds
}

/// Runs `body` with in-process simulators, shut down afterwards. Simulators share the singleton event
/// loops unless `ownLoops` (then shutting one down also closes its open connections).
func withSimulators<T>(
    _ configurations: [SimulatorConfiguration], ownLoops: Bool = false, _ body: ([SimulatorServer]) async throws -> T
) async throws -> T {
    var sims: [SimulatorServer] = []
    do {
        for configuration in configurations {
            sims.append(try await SimulatorServer.start(configuration: configuration, group: ownLoops ? nil : MultiThreadedEventLoopGroup.singleton))
        }
        let result = try await body(sims)
        for sim in sims { try? await sim.shutdown() }
        return result
    } catch {
        for sim in sims { try? await sim.shutdown() }
        throw error
    }
}

extension SimulatorServer {
    /// Chat completions received, warmup pings apart.
    var userCompletions: [RecordedRequest] {
        recordedRequests.filter { $0.path == "/v1/chat/completions" && !$0.isWarmup }
    }

    /// The warmup pings received.
    var warmups: [RecordedRequest] {
        recordedRequests.filter { $0.path == "/v1/chat/completions" && $0.isWarmup }
    }

    /// Health checks received.
    var healthChecks: Int {
        recordedRequests.filter { $0.path == "/health" }.count
    }
}

extension RecordedRequest {
    var isWarmup: Bool {
        bodyJSON["messages"]?.arrayValue?.first?["content"] == "ping"
    }
}
