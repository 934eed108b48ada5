// SPDX-License-Identifier: Apache-2.0
import Foundation
import LoadGenerator
import NIOCore

/// Starts the backend and both proxies, runs every scenario over the three paths and collects the
/// figures. Paths are measured one after another at each load, so drift on a noisy machine affects
/// all three alike.
final class Bench {
    static let clientModel = "claude-sonnet-4-5"
    static let backendModel = "Qwen/Qwen3-Coder-30B-A3B-Instruct"
    /// Both proxies check it (`master_key: os.environ/LITELLM_MASTER_KEY`: LiteLLM will not start without one).
    static let apiKey = "sk-spark-bench"

    private let binDirectory: String
    private let configPath: String
    private let litellmExecutable: String?
    private let plan: BenchPlan
    private let generator: LoadGenerator
    private let workDirectory: URL
    private var processes: [ChildProcess] = []
    private var simPort = 0
    private var report = BenchReport()

    init(binDirectory: String, configPath: String, litellmExecutable: String?, plan: BenchPlan, generator: LoadGenerator) throws {
        self.binDirectory = binDirectory
        self.configPath = configPath
        self.litellmExecutable = litellmExecutable
        self.plan = plan
        self.generator = generator
        workDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("spark-bench-\(getpid())")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    func stopAll() {
        for process in processes.reversed() { process.stop() }
        processes.removeAll()
    }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data("spark-bench: \(message)\n".utf8))
    }

    /// The environment both proxies read their shared config with.
    private var proxyEnvironment: [String: String] {
        ["SIM_API_BASE": "http://127.0.0.1:\(simPort)/v1", "LITELLM_MASTER_KEY": Self.apiKey]
    }

    // MARK: - Processes

    private func startSimulator() throws -> ChildProcess {
        let sim = try ChildProcess(
            name: "vllm-sim", executable: "\(binDirectory)/vllm-sim",
            arguments: ["--port", "0", "--max-model-len", "262144", "--record-limit", "1", "--model", Self.backendModel],
            logDirectory: workDirectory
        )
        processes.append(sim)
        let url = try sim.awaitLine(matching: #"^vllm-sim listening on (http://\S+)"#)
        report.startups.append(StartupTimes(what: "vllm-sim", signal: "listening line on stdout", milliseconds: [Self.millisecondsSince(sim.spawnedAt)]))
        simPort = Int(url.split(separator: ":").last ?? "") ?? 0
        return sim
    }

    /// A spark-bridge process, started as systemd would start it with Type=notify; returns it and the
    /// time from exec to READY=1.
    private func startBridge(tag: String) throws -> (ChildProcess, port: Int, readyMilliseconds: Double) {
        let listener = try ReadinessListener(path: workDirectory.appendingPathComponent("notify-\(tag).sock").path)
        let bridge = try ChildProcess(
            name: "spark-bridge-\(tag)", executable: "\(binDirectory)/spark-bridge",
            arguments: [
                "--config", configPath, "--listen", "127.0.0.1:0",
                "--control-socket", workDirectory.appendingPathComponent("control-\(tag).sock").path,
            ],
            environment: proxyEnvironment.merging(["NOTIFY_SOCKET": listener.path]) { $1 },
            logDirectory: workDirectory
        )
        processes.append(bridge)
        let ready = try listener.awaitReady()
        let url = try bridge.awaitLine(matching: #"^spark-bridge listening on (http://\S+)"#)
        let port = Int(url.split(separator: ":").last ?? "") ?? 0
        return (bridge, port, Double(ready - bridge.spawnedAt) / 1e6)
    }

    /// The LiteLLM proxy, started as its docs say (`litellm --config`), offline, by
    /// `scripts/litellm-run.sh` (the one place its environment is set); returns it, its port and the time
    /// from exec to its first 200 from `/health/readiness`.
    private func startLiteLLM(executable: String) throws -> (ChildProcess, port: Int, readyMilliseconds: Double) {
        let port = try HTTPProbe.freePort()
        let process = try ChildProcess(
            name: "litellm", executable: "scripts/litellm-run.sh", arguments: [String(port)],
            environment: proxyEnvironment.merging(["LITELLM_EXECUTABLE": executable]) { $1 },
            logDirectory: workDirectory
        )
        processes.append(process)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if HTTPProbe.status(host: "127.0.0.1", port: port, path: "/health/readiness") == 200 {
                return (process, port, Self.millisecondsSince(process.spawnedAt))
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        throw BenchError("LiteLLM did not become ready; see \(workDirectory.path)/litellm.log")
    }

    private static func millisecondsSince(_ start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    // MARK: - Scenarios

    func runAll() async throws -> BenchReport {
        report.plan = plan
        report.machine = MachineDescription.current(litellmExecutable: litellmExecutable)
        let sim = try startSimulator()
        log("vllm-sim on port \(simPort)")
        let (bridge, bridgePort, bridgeReady) = try startBridge(tag: "main")
        report.startups.append(StartupTimes(what: "spark-bridge", signal: "READY=1 on NOTIFY_SOCKET", milliseconds: [bridgeReady]))
        let bridgeProbe = ProcessProbe(pid: bridge.pid)
        log("spark-bridge on port \(bridgePort), READY after \(String(format: "%.1f", bridgeReady)) ms")

        var paths = [PathKind.direct: (BenchPath(kind: .direct, host: "127.0.0.1", port: simPort, apiKey: ""), ProcessProbe(pid: sim.pid))]
        paths[.bridge] = (BenchPath(kind: .bridge, host: "127.0.0.1", port: bridgePort, apiKey: Self.apiKey), bridgeProbe)
        if let litellmExecutable {
            do {
                let (litellm, port, ready) = try startLiteLLM(executable: litellmExecutable)
                report.startups.append(StartupTimes(what: "LiteLLM proxy", signal: "first 200 from /health/readiness", milliseconds: [ready]))
                paths[.litellm] = (BenchPath(kind: .litellm, host: "127.0.0.1", port: port, apiKey: Self.apiKey), ProcessProbe(pid: litellm.pid))
                log("LiteLLM on port \(port), ready after \(Int(ready)) ms")
            } catch {
                report.notes.append("LiteLLM was not measured: \(error)")
                log("\(error)")
            }
        } else {
            report.notes.append("LiteLLM was not measured: no --litellm executable was given.")
        }
        let order = PathKind.allCases.filter { paths[$0] != nil }

        // Idle memory, before any load, after the start-up warmup has settled.
        try await Task.sleep(for: .seconds(1))
        report.bridgeRSS.append(("idle after start", bridgeProbe.residentBytes()))

        let small = try Workload.chat(
            name: "small", clientModel: Self.clientModel, backendModel: Self.backendModel, stream: false,
            words: plan.smallWords, ttftMilliseconds: plan.smallTTFTMilliseconds, tokensPerSecond: 0
        )
        let smallInstant = try Workload.chat(
            name: "small-instant", clientModel: Self.clientModel, backendModel: Self.backendModel, stream: false,
            words: plan.smallWords, ttftMilliseconds: 0, tokensPerSecond: 0
        )
        let stream = try Workload.chat(
            name: "stream", clientModel: Self.clientModel, backendModel: Self.backendModel, stream: true,
            words: plan.streamTokens, ttftMilliseconds: plan.streamTTFTMilliseconds, tokensPerSecond: plan.streamTokensPerSecond
        )
        let claudeCode = try ClaudeCodeScenario.workload(clientModel: Self.clientModel, backendModel: Self.backendModel)
        report.claudeCodeSizes = claudeCode.sizes

        // Every path must answer each workload correctly before anything is timed.
        for kind in order {
            for workload in [small, stream, claudeCode.workload] {
                let check = await generator.run(paths[kind]!.0.request(for: workload), profile: LoadProfile(concurrency: 1, duration: .seconds(60), requestsPerUser: 1))
                guard check.failed == 0, check.completed > 0 else {
                    throw BenchError("\(kind.rawValue) failed the \(workload.name) check: statuses \(check.failureStatuses); logs in \(workDirectory.path)")
                }
            }
        }

        func measureLevels(_ workload: Workload, _ concurrencies: [Int], profile: (Int) -> LoadProfile) async throws -> [LoadLevel] {
            try await self.measureLevels(workload, concurrencies, paths: paths, order: order, profile: profile)
        }

        log("thread hand-off cost, back to back and after \(plan.smallTTFTMilliseconds) ms idle")
        report.wakeup = WakeupCost.measure(roundTrips: plan.wakeupRoundTrips, idleSamples: plan.wakeupIdleSamples, idleMilliseconds: plan.smallTTFTMilliseconds)

        log("scenario 1a: small non-streaming requests, backend answers after \(plan.smallTTFTMilliseconds) ms")
        report.smallTimed = try await measureLevels(small, plan.smallConcurrency) {
            LoadProfile(concurrency: $0, warmup: plan.smallWarmup, duration: plan.smallDuration)
        }
        log("scenario 1b: small non-streaming requests, backend answers at once")
        report.smallInstant = try await measureLevels(smallInstant, plan.smallConcurrency) {
            LoadProfile(concurrency: $0, warmup: plan.smallWarmup, duration: plan.smallDuration)
        }
        report.bridgeRSS.append(("after scenario 1", bridgeProbe.residentBytes()))

        log("scenario 2: streams of \(plan.streamTokens) tokens at \(plan.streamTokensPerSecond) tokens/s")
        report.streams = try await measureLevels(stream, plan.streamConcurrency) {
            LoadProfile(concurrency: $0, duration: plan.streamDuration, grace: .seconds(60))
        }
        report.bridgeRSS.append(("after scenario 2", bridgeProbe.residentBytes()))

        log("scenario 3: Claude Code-size requests")
        report.claudeCode = try await measureLevels(claudeCode.workload, [1]) { _ in
            LoadProfile(concurrency: 1, warmup: .milliseconds(200), duration: plan.claudeCodeDuration)
        }.first

        log("scenario 4: start to READY")
        for index in 0..<plan.bridgeStarts {
            let (process, _, ready) = try startBridge(tag: "start\(index)")
            process.stop()
            processes.removeAll { $0 === process }
            if let index = report.startups.firstIndex(where: { $0.what == "spark-bridge" }) {
                report.startups[index].milliseconds.append(ready)
            }
        }

        log("memory across repeated rounds")
        try await Task.sleep(for: .seconds(1))
        report.bridgeRSS.append(("idle after scenarios 1–4", bridgeProbe.residentBytes()))
        let bridgePath = paths[.bridge]!.0
        for round in 1...plan.growthRounds {
            _ = await generator.run(bridgePath.request(for: small), profile: LoadProfile(concurrency: 64, duration: plan.smallDuration))
            _ = await generator.run(bridgePath.request(for: stream), profile: LoadProfile(concurrency: plan.growthStreams, duration: plan.streamDuration))
            try await Task.sleep(for: .seconds(1))
            report.bridgeRSS.append(("idle after repeat round \(round)", bridgeProbe.residentBytes()))
        }
        if !bridge.isRunning { throw BenchError("spark-bridge exited during the benchmark; see \(workDirectory.path)") }

        log("scenario 6: routing over \(plan.routing.replicas) replicas, \(plan.routing.sessions) Claude Code sessions")
        report.routing = try await runRouting()
        return report
    }

    /// Scenario 6 on its own processes (replicas and a bridge per strategy), started and stopped here.
    func runRouting() async throws -> RoutingReport {
        try await RoutingScenario(plan: plan.routing, binDirectory: binDirectory, workDirectory: workDirectory, generator: generator).run()
    }

    /// Each load in turn, each path in turn at that load.
    private func measureLevels(
        _ workload: Workload, _ concurrencies: [Int], paths: [PathKind: (BenchPath, ProcessProbe)], order: [PathKind],
        profile: (Int) -> LoadProfile
    ) async throws -> [LoadLevel] {
        var levels: [LoadLevel] = []
        for concurrency in concurrencies {
            var level = LoadLevel(label: String(concurrency), concurrency: concurrency)
            for kind in order {
                let (path, probe) = paths[kind]!
                let (result, use) = await ResourceMeter(probe: probe).measure {
                    await generator.run(path.request(for: workload), profile: profile(concurrency))
                }
                level.measurements[kind] = Measurement(path: kind, result: result, proxy: use)
                let figure = workload.streams ? "TTFT p99 \(BenchReport.ms(result.firstToken.p99)) ms" : "p50 \(BenchReport.ms(result.total.p50)) ms"
                log("  \(workload.name) ×\(concurrency) \(kind.rawValue): \(result.completed) ok, \(result.failed) failed, \(figure)")
                // Let sockets in TIME_WAIT and the proxies' buffers settle between paths.
                try await Task.sleep(for: .milliseconds(300))
            }
            levels.append(level)
        }
        return levels
    }

    /// `--scenario`: vllm-sim directly and through spark-bridge only, the chosen scenarios only, at the
    /// plan's loads; returns their figures as text (direct and bridge side by side, and what the bridge
    /// adds), for before/after comparisons of one change.
    func runOnly(_ scenarios: Set<BenchScenario>) async throws -> String {
        let sim = try startSimulator()
        let (bridge, bridgePort, _) = try startBridge(tag: "main")
        let paths: [PathKind: (BenchPath, ProcessProbe)] = [
            .direct: (BenchPath(kind: .direct, host: "127.0.0.1", port: simPort, apiKey: ""), ProcessProbe(pid: sim.pid)),
            .bridge: (BenchPath(kind: .bridge, host: "127.0.0.1", port: bridgePort, apiKey: Self.apiKey), ProcessProbe(pid: bridge.pid)),
        ]
        let order: [PathKind] = [.direct, .bridge]
        try await Task.sleep(for: .seconds(1))
        var out = ""
        if scenarios.contains(.smallTimed) {
            let small = try Workload.chat(
                name: "small", clientModel: Self.clientModel, backendModel: Self.backendModel, stream: false,
                words: plan.smallWords, ttftMilliseconds: plan.smallTTFTMilliseconds, tokensPerSecond: 0
            )
            log("small-timed: backend answers after \(plan.smallTTFTMilliseconds) ms")
            let levels = try await measureLevels(small, plan.smallConcurrency, paths: paths, order: order) {
                LoadProfile(concurrency: $0, warmup: plan.smallWarmup, duration: plan.smallDuration)
            }
            out += "small-timed (\(plan.smallTTFTMilliseconds) ms backend)\n"
            for level in levels {
                guard let direct = level.measurements[.direct], let bridged = level.measurements[.bridge] else { continue }
                let (d, b) = (direct.result, bridged.result)
                let ms = BenchReport.ms
                out += "  c=\(level.concurrency): direct p50 \(ms(d.total.p50)) p99 \(ms(d.total.p99)) ms, bridge p50 \(ms(b.total.p50)) p99 \(ms(b.total.p99)) ms, "
                out += "added p50 \(ms(b.total.p50 - d.total.p50)) p99 \(ms(b.total.p99 - d.total.p99)) ms, \(b.completed)/\(b.samples.count) ok, "
                out += "CPU per request sim \(Self.microsecondsPer(direct.proxy, d.completed)) µs, bridge \(Self.microsecondsPer(bridged.proxy, b.completed)) µs\n"
            }
        }
        if scenarios.contains(.streams) {
            let stream = try Workload.chat(
                name: "stream", clientModel: Self.clientModel, backendModel: Self.backendModel, stream: true,
                words: plan.streamTokens, ttftMilliseconds: plan.streamTTFTMilliseconds, tokensPerSecond: plan.streamTokensPerSecond
            )
            log("streams: \(plan.streamTokens) tokens at \(plan.streamTokensPerSecond) tokens/s")
            let levels = try await measureLevels(stream, plan.streamConcurrency, paths: paths, order: order) {
                LoadProfile(concurrency: $0, duration: plan.streamDuration, grace: .seconds(60))
            }
            out += "streams (\(plan.streamTokens) tokens at \(plan.streamTokensPerSecond)/s)\n"
            for level in levels {
                guard let direct = level.measurements[.direct], let bridged = level.measurements[.bridge] else { continue }
                let (d, b) = (direct.result, bridged.result)
                let events = { (r: LoadResult) in r.samples.reduce(0) { $0 + $1.tokenEvents } }
                let ms = BenchReport.ms
                out += "  \(level.concurrency) streams: TTFT p50/p99 direct \(ms(d.firstToken.p50))/\(ms(d.firstToken.p99)) ms, "
                out += "bridge \(ms(b.firstToken.p50))/\(ms(b.firstToken.p99)) ms, added p99 \(ms(b.firstToken.p99 - d.firstToken.p99)) ms; "
                out += "complete \(b.completed)/\(b.samples.count) (direct \(d.completed)/\(d.samples.count)); "
                out += "CPU per event sim \(Self.microsecondsPer(direct.proxy, events(d))) µs, bridge \(Self.microsecondsPer(bridged.proxy, events(b))) µs "
                out += "(\(String(format: "%.2f", bridged.proxy?.cores ?? 0)) cores)\n"
            }
        }
        if !bridge.isRunning { throw BenchError("spark-bridge exited during the benchmark; see \(workDirectory.path)") }
        return out
    }

    /// CPU microseconds of `use` per unit of `count`, formatted; "—" without either.
    private static func microsecondsPer(_ use: ResourceUse?, _ count: Int) -> String {
        guard let microseconds = use?.microseconds(per: count) else { return "—" }
        return String(format: "%.1f", microseconds)
    }
}
