// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import ControlProtocol
import Logging
import Testing
import VLLMSimulator
@testable import BridgeServer

/// Health-aware routing through a real bridge on a loopback port, in front of in-process simulators.
@Suite("health-aware routing")
struct RoutingTests {
    @Test("panic mode: an alias whose only backend is marked down tries it anyway, and the success marks it up at once")
    func allDownTriesAnyway() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"], startHealthy: false)]) { sims in
            // One check at start marks it down; the next is far away: only the request can bring it back.
            let configuration = testConfiguration([("claude-x", [(sims[0].baseURL, "m")])]) {
                $0.health.interval = .seconds(300)
                $0.health.failuresBeforeDown = 1
            }
            try await withBridge(configuration) { bridge in
                await eventually("the backend is down") { bridge.report(sims[0].baseURL)?.state == .down }
                let response = try await bridge.message("claude-x")
                #expect(response.status == 200)
                #expect(sims[0].userCompletions.count == 1)
                #expect(bridge.report(sims[0].baseURL)?.state == .up)
                #expect(bridge.report(sims[0].baseURL)?.lastError == nil)
                #expect(bridge.inFlight == 0)
            }
        }
    }

    @Test("panic mode against a backend that is really gone: the refused connection fails fast with 529")
    func allDownAndRefusedFailsFast() async throws {
        let closedPort = try await withSimulators([SimulatorConfiguration(models: ["m"])]) { sims in sims[0].port }
        let base = "http://127.0.0.1:\(closedPort)"
        let configuration = testConfiguration([("claude-x", [(base, "m")])]) {
            $0.health.interval = .seconds(300)
            $0.health.failuresBeforeDown = 1
        }
        try await withBridge(configuration) { bridge in
            await eventually("the backend is down") { bridge.report(base)?.state == .down }
            let response = try await bridge.message("claude-x")
            #expect(response.status == 529)
            #expect(response.json?["error"]?["type"] == "overloaded_error")
            #expect(response.json?["error"]?["message"]?.stringValue?.hasPrefix("The backend is unavailable: upstream connect failed") == true)
            let passthrough = try await bridge.send("POST", "/v1/chat/completions", body: ["model": "claude-x", "messages": [["role": "user", "content": "hi"]]])
            #expect(passthrough.status == 503)
            #expect(bridge.report(base)?.state == .down)
            #expect(bridge.inFlight == 0)
        }
    }

    @Test("two deployments, one down: every request goes to the healthy one")
    func avoidsDownDeployment() async throws {
        let configurations = [SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"], startHealthy: false)]
        try await withSimulators(configurations) { sims in
            let configuration = testConfiguration([("pool", [(sims[0].baseURL, "m"), (sims[1].baseURL, "m")])])
            try await withBridge(configuration) { bridge in
                await eventually("one up, one down") {
                    bridge.report(sims[0].baseURL)?.state == .up && bridge.report(sims[1].baseURL)?.state == .down
                }
                for _ in 0..<4 {
                    do { let response = try await bridge.message("pool"); #expect(response.status == 200) }
                }
                #expect(sims[0].userCompletions.count == 4)
                #expect(sims[1].userCompletions.isEmpty)
            }
        }
    }

    @Test("a drained backend gets no new requests; all drained is 529 saying so; resume routes to it again")
    func drainAndResume() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"])]) { sims in
            let configuration = testConfiguration([("pool", [(sims[0].baseURL, "m"), (sims[1].baseURL, "m")])])
            try await withBridge(configuration) { bridge in
                let first = "127.0.0.1:\(sims[0].port)", second = "127.0.0.1:\(sims[1].port)"
                await eventually("both up") { bridge.context.healthSnapshot().allSatisfy { $0.state == .up } }
                #expect(bridge.context.drainBackend(first))
                #expect(!bridge.context.drainBackend("nowhere:1"))
                #expect(bridge.context.drainedBackends == [first])
                #expect(bridge.report(sims[0].baseURL)?.drained == true)
                for _ in 0..<3 {
                    do { let response = try await bridge.message("pool"); #expect(response.status == 200) }
                }
                #expect(sims[0].userCompletions.isEmpty)
                #expect(sims[1].userCompletions.count == 3)

                bridge.context.drainBackend(second)
                let refused = try await bridge.message("pool")
                #expect(refused.status == 529)
                #expect(refused.json?["error"]?["message"]?.stringValue == "all backends for alias pool are drained: \(first), \(second)")

                #expect(bridge.context.resumeBackend(first))
                #expect(!bridge.context.resumeBackend(first))
                do { let response = try await bridge.message("pool"); #expect(response.status == 200) }
                #expect(sims[0].userCompletions.count == 1)
            }
        }
    }

    @Test("a deployment that answers 5xx is skipped by the next requests and its failure counts toward down")
    func failedRequestMarksBackend() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"])]) { sims in
            // One check at start, then none for the length of the test: only the failure speaks.
            let configuration = testConfiguration([("pool", [(sims[0].baseURL, "m"), (sims[1].baseURL, "m")])]) {
                $0.health.interval = .seconds(300)
                $0.health.failuresBeforeDown = 3
            }
            try await withBridge(configuration) { bridge in
                await eventually("both up") { bridge.context.healthSnapshot().allSatisfy { $0.state == .up } }
                let failed = try await bridge.message("pool", text: #"[[sim:{"error":{"status":500,"message":"boom"}}]]"#)
                #expect(failed.status >= 500)
                let bad = try #require(sims.firstIndex { !$0.userCompletions.isEmpty })
                let good = 1 - bad
                for _ in 0..<3 {
                    do { let response = try await bridge.message("pool"); #expect(response.status == 200) }
                }
                #expect(sims[bad].userCompletions.count == 1)
                #expect(sims[good].userCompletions.count == 3)
                let report = try #require(bridge.report(sims[bad].baseURL))
                #expect(report.state == .up)
                #expect(report.lastError == "request failed: HTTP 500")
                #expect(bridge.context.health.counters.requestFailures == 1)
            }
        }
    }

    @Test("least-busy: a busy deployment is passed over, and every exchange path uncounts exactly once")
    func inFlightAccounting() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"]), SimulatorConfiguration(models: ["m"])]) { sims in
            let configuration = testConfiguration([("pool", [(sims[0].baseURL, "m"), (sims[1].baseURL, "m")])]) { $0.routing.strategy = .leastBusy }
            try await withBridge(configuration) { bridge in
                await eventually("both up") { bridge.context.healthSnapshot().allSatisfy { $0.state == .up } }
                let words = Array(repeating: "slow", count: 200).joined(separator: " ")
                let slowText = #"[[sim:{"text":"\#(words)","tokens_per_second":20}]]"#
                let slow = Task { try await bridge.message("pool", text: slowText, stream: true) }
                await eventually("the slow stream is in flight") { bridge.inFlight == 1 }
                let busy = try #require(bridge.context.healthSnapshot().firstIndex { $0.inFlight == 1 })
                for _ in 0..<3 {
                    do { let response = try await bridge.message("pool"); #expect(response.status == 200) }
                }
                #expect(sims[1 - busy].userCompletions.count == 3)
                #expect(sims[busy].userCompletions.count == 1)

                // The client hangs up mid-stream: the upstream request is cancelled and uncounted.
                slow.cancel()
                _ = try? await slow.value
                await eventually("the cancelled stream is uncounted") { bridge.inFlight == 0 }
                await eventually("the backend saw the abort") { sims[busy].userCompletions.first?.aborted == true }

                // Every other path: streamed to the end, backend error, count_tokens, passthrough, bad input.
                do { let response = try await bridge.message("pool", stream: true); #expect(response.status == 200) }
                do { let response = try await bridge.message("pool", text: #"[[sim:{"error":{"status":400,"message":"no"}}]]"#); #expect(response.status == 400) }
                do { let response = try await bridge.message("pool", text: #"[[sim:{"error":{"status":503,"message":"busy"}}]]"#); #expect(response.status >= 500) }
                let count = try await bridge.send("POST", "/v1/messages/count_tokens", body: ["model": "pool", "messages": [["role": "user", "content": "hi"]]])
                #expect(count.status == 200)
                let passthrough = try await bridge.send("POST", "/v1/chat/completions", body: ["model": "pool", "messages": [["role": "user", "content": "hi"]]])
                #expect(passthrough.status == 200)
                // A backend model id named directly: the pool of every deployment serving it.
                let direct = try await bridge.send("POST", "/v1/chat/completions", body: ["model": "m", "messages": [["role": "user", "content": "hi"]]])
                #expect(direct.status == 200)
                do { let response = try await bridge.send("POST", "/v1/messages", rawBody: Array("{".utf8)); #expect(response.status == 400) }
                await eventually("nothing is in flight") { bridge.inFlight == 0 }
                #expect(bridge.context.healthSnapshot().allSatisfy { $0.inFlight == 0 })
            }
        }
    }

    @Test("/health lists each backend's state, models and warmth; warmups make no request log line")
    func healthEndpoint() async throws {
        try await withSimulators([SimulatorConfiguration(models: ["m"], maxModelLen: 8192)]) { sims in
            let logs = LogCapture()
            let configuration = testConfiguration([("alias", [(sims[0].baseURL, "m")])])
            try await withBridge(configuration, logs: logs) { bridge in
                await eventually("the backend is warm") { bridge.report(sims[0].baseURL)?.warm == true }
                let health = try await bridge.send("GET", "/health")
                #expect(health.status == 200)
                let backend = try #require(health.json?["backends"]?.arrayValue?.first)
                #expect(backend["name"]?.stringValue == "127.0.0.1:\(sims[0].port)")
                #expect(backend["url"]?.stringValue == sims[0].baseURL + "/v1")
                #expect(backend["state"] == "up")
                #expect(backend["warm"] == true)
                #expect(backend["drained"] == false)
                #expect(backend["in_flight"] == 0)
                #expect(backend["last_error"] == .null)
                #expect(backend["models"] == [["id": "m", "max_model_len": 8192]])
                #expect(sims[0].warmups.count == 1)
                // One request log line (written just after the response): the /health request itself.
                await eventually("the /health request is logged") { logs.count(.info, containing: "GET /health") == 1 }
                #expect(logs.count(.info, containing: " status=") == 1)
            }
        }
    }
}
