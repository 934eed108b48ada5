// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads
import BridgeJSON
import Foundation
import LoadGenerator
import NIOCore
import VLLMSimulator

/// The routing scenario's shape: replicas of vllm-sim with a prefix cache, and Claude Code sessions
/// whose conversations grow turn by turn.
struct RoutingPlan: Sendable {
    var replicas: Int
    var sessions: Int
    var turns: Int
    /// History the first turn already carries, in bytes of Anthropic JSON (whole tasks).
    var openingHistoryBytes: Int
    /// The simulated GPU's prefill speed: time to first token grows by uncached prompt tokens ÷ this.
    var prefillTokensPerSecond: Int
    /// Time to first token before prefill.
    var baseTTFTMilliseconds: Int
    /// How many sessions (at their last turn) each replica's cache holds beside the shared prefix;
    /// `nil`: a `1/replicas` share of them.
    var cacheSessions: Int? = nil
    /// `spark_bridge.routing.affinity_load_factor` (ε); `nil`: the bridge's default.
    var affinityLoadFactor: Double? = nil

    static let full = RoutingPlan(replicas: 4, sessions: 32, turns: 20, openingHistoryBytes: 0, prefillTokensPerSecond: 20_000, baseTTFTMilliseconds: 20)
    static let quick = RoutingPlan(replicas: 4, sessions: 8, turns: 6, openingHistoryBytes: 0, prefillTokensPerSecond: 100_000, baseTTFTMilliseconds: 5)
}

/// The routing strategies compared (`spark_bridge.routing.strategy`).
enum RoutingStrategy: String, CaseIterable, Sendable {
    case leastBusy = "least-busy"
    case roundRobin = "round-robin"
    case sessionAffinity = "session-affinity"
}

/// One replica's share of a run.
struct ReplicaShare: Sendable {
    /// Requests the bridge sent it (its request log).
    var requests = 0
    /// Prompt tokens it was asked to prefill (`vllm:prefix_cache_queries_total`).
    var promptTokens = 0
    /// Prompt tokens its prefix cache served (`vllm:prefix_cache_hits_total`).
    var cachedTokens = 0
    /// Sessions whose turns (before a kill) went here most.
    var sessions = 0
}

/// What one strategy's run measured.
struct RoutingRun: Sendable {
    var strategy: RoutingStrategy
    var requests = 0
    var failed = 0
    var failureStatuses: [Int: Int] = [:]
    /// Client-side time to the first `content_block_delta`, over the completed turns.
    var ttftMeanNanos: Double = 0
    var ttftP99Nanos: Int64 = 0
    var replicas: [ReplicaShare] = []
    /// `route=` counts from the bridge's request log.
    var routes: [String: Int] = [:]
    var elapsedSeconds: Double = 0
    /// The kill run only: which replica was killed, the sessions that lived there, the sessions whose
    /// replica (where most of their turns not spilled by the load bound went) changed after the kill,
    /// and those of them that had not lived on the killed one.
    var killed: Int?
    var sessionsOnKilled = 0
    var sessionsMoved = 0
    var sessionsMovedFromLiveReplicas = 0
    /// Failed turns the bridge had sent to the killed replica (in flight when it died).
    var failedOnKilled = 0

    /// Σ hits ÷ Σ queries over the replicas.
    var hitRate: Double {
        let queried = replicas.reduce(0) { $0 + $1.promptTokens }
        return queried > 0 ? Double(replicas.reduce(0) { $0 + $1.cachedTokens }) / Double(queried) : 0
    }

    /// The busiest replica's load ÷ the mean, by `load` (replicas still up only).
    func peakOverMean(_ load: (ReplicaShare) -> Int) -> Double {
        let live = replicas.enumerated().filter { $0.offset != killed }.map { load($0.element) }
        let total = live.reduce(0, +)
        guard total > 0, let peak = live.max() else { return 0 }
        return Double(peak) / (Double(total) / Double(live.count))
    }
}

/// Everything the routing scenario measured.
struct RoutingReport: Sendable {
    var plan: RoutingPlan
    var kvCacheTokens = 0
    var sharedPrefixTokens = 0
    var finalPromptTokens = 0
    var firstPromptTokens = 0
    var runs: [RoutingRun] = []
    var killRun: RoutingRun?

    func run(_ strategy: RoutingStrategy) -> RoutingRun? { runs.first { $0.strategy == strategy } }
}

/// `make bench`'s routing scenario: `plan.replicas` vllm-sim replicas, each with a prefix cache that
/// holds a `1/replicas` share of the sessions, behind one spark-bridge; `plan.sessions` Claude Code
/// sessions at once, each sending `plan.turns` turns one after another (every turn re-sends the whole
/// conversation plus the new task, with the session's `X-Claude-Code-Session-Id`). Run once per
/// strategy, each with fresh replicas (cold caches) and a fresh bridge; then once more with session
/// affinity, killing (SIGKILL) the busiest replica when half the turns are done.
struct RoutingScenario {
    let plan: RoutingPlan
    let binDirectory: String
    let workDirectory: URL
    let generator: LoadGenerator

    static let apiKey = "sk-spark-bench"

    private func log(_ message: String) {
        FileHandle.standardError.write(Data("spark-bench: routing: \(message)\n".utf8))
    }

    func run(strategies: [RoutingStrategy] = RoutingStrategy.allCases, kill: Bool = true) async throws -> RoutingReport {
        var report = RoutingReport(plan: plan)
        let sessions = (0..<plan.sessions).map { index in
            ClaudeCodeSession(
                index: index, turns: plan.turns, openingHistoryBytes: plan.openingHistoryBytes,
                model: Bench.clientModel, stream: true, maxTokens: 4096
            ) { turn in #"Carry on with the next step (turn \#(turn)). [[sim:{"text":"Done: the step is finished."}]]"# }
        }
        // The cache holds the shared prefix once and a 1/replicas share of the sessions at their last turn.
        let first = try Self.promptTokenIDs(sessions[0].bodies.first!)
        let finals = try sessions.map { try Self.promptTokenIDs($0.bodies.last!) }
        let other = sessions.count > 1 ? try Self.promptTokenIDs(sessions[1].bodies.last!) : finals[0]
        report.sharedPrefixTokens = zip(finals[0], other).prefix { $0 == $1 }.count
        report.finalPromptTokens = finals.map(\.count).max() ?? 0
        report.firstPromptTokens = first.count
        let perReplica = plan.cacheSessions ?? (plan.sessions + plan.replicas - 1) / plan.replicas
        let tokens = report.sharedPrefixTokens + perReplica * (report.finalPromptTokens - report.sharedPrefixTokens)
        report.kvCacheTokens = (tokens + PrefixCache.blockSize - 1) / PrefixCache.blockSize * PrefixCache.blockSize
        log("\(plan.sessions) sessions × \(plan.turns) turns, prompts \(report.firstPromptTokens) → \(report.finalPromptTokens) tokens (\(report.sharedPrefixTokens) shared), cache \(report.kvCacheTokens) tokens per replica")

        for strategy in strategies {
            report.runs.append(try await runOnce(strategy: strategy, sessions: sessions, kvCacheTokens: report.kvCacheTokens, killHalfway: false))
        }
        if kill {
            report.killRun = try await runOnce(strategy: .sessionAffinity, sessions: sessions, kvCacheTokens: report.kvCacheTokens, killHalfway: true)
        }
        return report
    }

    /// The token ids vllm-sim's prefix cache sees for an Anthropic body, through the bridge's own translation.
    private static func promptTokenIDs(_ body: [UInt8]) throws -> [Int] {
        let workload = try Workload(name: "turn", anthropicBody: body, backendModel: Bench.backendModel)
        guard case .object(let openAI) = try JSONParser.parse(workload.openAIBody), case .array(let messages)? = openAI["messages"] else {
            throw BenchError("the translated body has no messages")
        }
        var tools: [JSONValue]?
        if case .array(let list)? = openAI["tools"] { tools = list }
        return PrefixCache.tokenIDs(messages: messages, tools: tools)
    }

    private func runOnce(strategy: RoutingStrategy, sessions: [ClaudeCodeSession], kvCacheTokens: Int, killHalfway: Bool) async throws -> RoutingRun {
        let tag = killHalfway ? "kill" : strategy.rawValue
        var processes: [ChildProcess] = []
        defer { for process in processes.reversed() { process.stop() } }

        var simPorts: [Int] = []
        var sims: [ChildProcess] = []
        for index in 0..<plan.replicas {
            let sim = try ChildProcess(
                name: "vllm-sim-\(tag)-\(index)", executable: "\(binDirectory)/vllm-sim",
                arguments: [
                    "--port", "0", "--max-model-len", "262144", "--record-limit", "1", "--model", Bench.backendModel,
                    "--kv-cache-tokens", String(kvCacheTokens), "--prefill-tokens-per-second", String(plan.prefillTokensPerSecond),
                    "--ttft-ms", String(plan.baseTTFTMilliseconds), "--enable-prompt-tokens-details",
                ],
                logDirectory: workDirectory
            )
            processes.append(sim)
            sims.append(sim)
            let url = try sim.awaitLine(matching: #"^vllm-sim listening on (http://\S+)"#)
            simPorts.append(Int(url.split(separator: ":").last ?? "") ?? 0)
        }

        let configURL = workDirectory.appendingPathComponent("routing-\(tag).yaml")
        var config = "model_list:\n"
        // Each replica's address comes from the environment (SIM_API_BASE_<n>), as in Benchmarks/litellm_config.yaml.
        var environment: [String: String] = [:]
        for (index, port) in simPorts.enumerated() {
            environment["SIM_API_BASE_\(index)"] = "http://127.0.0.1:\(port)/v1"
            config += "  - model_name: \(Bench.clientModel)\n"
            config += "    litellm_params: {model: hosted_vllm/\(Bench.backendModel), api_base: os.environ/SIM_API_BASE_\(index), api_key: sk-none}\n"
        }
        // As a user would write it: a request its deployment refused is tried on another one first.
        config += "router_settings:\n  num_retries: 2\n"
        config += "general_settings:\n  master_key: \(Self.apiKey)\n"
        config += "spark_bridge:\n  routing: {strategy: \(strategy.rawValue)\(plan.affinityLoadFactor.map { ", affinity_load_factor: \($0)" } ?? "")}\n"
        config += "  health: {interval_seconds: 1, timeout_seconds: 1}\n  warmup: {enabled: false}\n"
        try config.write(to: configURL, atomically: true, encoding: .utf8)

        let bridge = try ChildProcess(
            name: "spark-bridge-routing-\(tag)", executable: "\(binDirectory)/spark-bridge",
            arguments: [
                "--config", configURL.path, "--listen", "127.0.0.1:0",
                "--control-socket", workDirectory.appendingPathComponent("control-routing-\(tag).sock").path,
            ],
            environment: environment,
            logDirectory: workDirectory
        )
        processes.append(bridge)
        let url = try bridge.awaitLine(matching: #"^spark-bridge listening on (http://\S+)"#)
        let bridgePort = Int(url.split(separator: ":").last ?? "") ?? 0
        let bridgeLog = workDirectory.appendingPathComponent("spark-bridge-routing-\(tag).log")
        // The first health round reads every replica's /metrics.
        try await Task.sleep(for: .milliseconds(1500))

        log("\(killHalfway ? "session-affinity, one replica killed halfway" : strategy.rawValue): \(plan.sessions) sessions on port \(bridgePort)")
        let killer = HalfwayKill(
            threshold: killHalfway ? plan.sessions * plan.turns / 2 : nil,
            sims: sims, simPorts: simPorts, bridgeLog: bridgeLog
        )
        let started = ContinuousClock.now
        let turns = await withTaskGroup(of: [TurnRecord].self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask {
                    var records: [TurnRecord] = []
                    for body in session.bodies {
                        let request = LoadRequest(
                            host: "127.0.0.1", port: bridgePort, path: "/v1/messages",
                            headers: [
                                ("x-api-key", Self.apiKey), ("anthropic-version", "2023-06-01"),
                                ("x-claude-code-session-id", session.sessionID),
                            ],
                            body: body, streams: true, dialect: .anthropic
                        )
                        let afterKill = await killer.hasKilled
                        let result = await generator.run(request, profile: LoadProfile(concurrency: 1, duration: .seconds(600), grace: .seconds(600), requestsPerUser: 1))
                        for sample in result.samples {
                            records.append(TurnRecord(session: index, sample: sample, afterKill: afterKill))
                        }
                        await killer.turnDone()
                    }
                    return records
                }
            }
            var all: [TurnRecord] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
        var run = RoutingRun(strategy: strategy)
        run.elapsedSeconds = Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        run.requests = turns.count
        run.failed = turns.count { !$0.sample.completed }
        for turn in turns where !turn.sample.completed { run.failureStatuses[turn.sample.status, default: 0] += 1 }
        let ttfts = turns.filter(\.sample.completed).compactMap(\.sample.firstTokenNanos)
        run.ttftMeanNanos = ttfts.isEmpty ? 0 : Double(ttfts.reduce(0, +)) / Double(ttfts.count)
        run.ttftP99Nanos = Percentiles(ttfts).p99

        // Each replica's prefix-cache counters (the killed one's as read just before the kill).
        let killed = await killer.killedReplica
        let killedCounters = await killer.countersAtKill
        run.replicas = Array(repeating: ReplicaShare(), count: plan.replicas)
        for (index, port) in simPorts.enumerated() {
            let counters = index == killed ? killedCounters : Self.prefixCacheCounters(port: port)
            run.replicas[index].promptTokens = counters?.queries ?? 0
            run.replicas[index].cachedTokens = counters?.hits ?? 0
        }

        // Which replica served each turn, from the bridge's request log.
        let served = Self.servedBy(log: bridgeLog, simPorts: simPorts)
        for entry in served.values {
            run.replicas[entry.replica].requests += 1
            run.routes[entry.route, default: 0] += 1
        }
        var before: [Int: [Int]] = [:]
        var after: [Int: [Int]] = [:]
        for turn in turns {
            // A turn the load bound spilled went to the session's next deployment for once: not where it lives.
            guard let id = turn.sample.requestID, let entry = served[id], entry.route != "spilled" else { continue }
            let replica = entry.replica
            if turn.afterKill { after[turn.session, default: []].append(replica) } else { before[turn.session, default: []].append(replica) }
        }
        run.killed = killed
        run.failedOnKilled = turns.count { turn in
            !turn.sample.completed && killed != nil && turn.sample.requestID.flatMap { served[$0]?.replica } == killed
        }
        for (session, replicas) in before {
            let home = Self.mostCommon(replicas)
            run.replicas[home].sessions += 1
            guard killed != nil else { continue }
            // Where the session lives after the kill (most of its later turns).
            let moved = after[session].map { Self.mostCommon($0) != home } ?? false
            if home == killed { run.sessionsOnKilled += 1 }
            if moved { run.sessionsMoved += 1 }
            if moved, home != killed { run.sessionsMovedFromLiveReplicas += 1 }
        }
        log("  \(run.requests) turns, \(run.failed) failed, TTFT mean \(BenchReport.ms(Int64(run.ttftMeanNanos))) ms p99 \(BenchReport.ms(run.ttftP99Nanos)) ms, hit rate \(String(format: "%.3f", run.hitRate)), requests per replica \(run.replicas.map(\.requests)), sessions \(run.replicas.map(\.sessions)), routes \(run.routes)")
        if bridge.isRunning == false { throw BenchError("spark-bridge exited during the routing scenario; see \(bridgeLog.path)") }
        return run
    }

    /// `vllm:prefix_cache_queries_total` and `vllm:prefix_cache_hits_total` from a replica's `/metrics`.
    static func prefixCacheCounters(port: Int) -> (queries: Int, hits: Int)? {
        guard let page = HTTPProbe.body(host: "127.0.0.1", port: port, path: "/metrics") else { return nil }
        func value(_ name: String) -> Int? {
            for line in page.split(separator: "\n") where line.hasPrefix(name + "{") {
                if let number = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(number) }
            }
            return nil
        }
        guard let queries = value("vllm:prefix_cache_queries_total"), let hits = value("vllm:prefix_cache_hits_total") else { return nil }
        return (queries, hits)
    }

    /// Request id → (replica, route) for every `/v1/messages` line of the bridge's request log:
    /// `req_… POST /v1/messages claude-… -> Qwen/… @ 127.0.0.1:PORT route=affinity status=200 …`.
    static func servedBy(log: URL, simPorts: [Int]) -> [String: (replica: Int, route: String)] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [:] }
        let replicaOfBackend = Dictionary(uniqueKeysWithValues: simPorts.enumerated().map { ("127.0.0.1:\($0.element)", $0.offset) })
        var served: [String: (Int, String)] = [:]
        for line in text.split(separator: "\n") where line.contains(" POST /v1/messages ") {
            let words = line.split(separator: " ")
            guard let post = words.firstIndex(of: "POST"), post > 0, let at = words.firstIndex(of: "@"), at + 1 < words.count else { continue }
            guard let replica = replicaOfBackend[String(words[at + 1])] else { continue }
            let route = words.first { $0.hasPrefix("route=") }.map { String($0.dropFirst(6)) } ?? "-"
            served[String(words[post - 1])] = (replica, route)
        }
        return served
    }

    private static func mostCommon(_ values: [Int]) -> Int {
        var counts: [Int: Int] = [:]
        for value in values { counts[value, default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
    }
}

/// One turn as the client saw it.
struct TurnRecord: Sendable {
    let session: Int
    let sample: RequestSample
    /// Whether the turn started after the kill.
    let afterKill: Bool
}

/// Counts finished turns and, at `threshold`, kills (SIGKILL) the replica that served the most
/// requests so far, after reading its prefix-cache counters.
actor HalfwayKill {
    private let threshold: Int?
    private let sims: [ChildProcess]
    private let simPorts: [Int]
    private let bridgeLog: URL
    private var done = 0
    private(set) var killedReplica: Int?
    private(set) var countersAtKill: (queries: Int, hits: Int)?

    init(threshold: Int?, sims: [ChildProcess], simPorts: [Int], bridgeLog: URL) {
        self.threshold = threshold
        self.sims = sims
        self.simPorts = simPorts
        self.bridgeLog = bridgeLog
    }

    var hasKilled: Bool { killedReplica != nil }

    func turnDone() {
        done += 1
        guard let threshold, done == threshold, killedReplica == nil else { return }
        var requests = Array(repeating: 0, count: simPorts.count)
        for entry in RoutingScenario.servedBy(log: bridgeLog, simPorts: simPorts).values { requests[entry.replica] += 1 }
        let victim = requests.indices.max { requests[$0] < requests[$1] } ?? 0
        countersAtKill = RoutingScenario.prefixCacheCounters(port: simPorts[victim])
        kill(sims[victim].pid, SIGKILL)
        killedReplica = victim
        FileHandle.standardError.write(Data("spark-bench: routing: killed replica \(victim) after \(done) turns\n".utf8))
    }
}
