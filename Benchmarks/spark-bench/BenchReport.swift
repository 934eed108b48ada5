// SPDX-License-Identifier: Apache-2.0
import Foundation
import LoadGenerator
import NIOCore

/// Everything a run measured, and its rendering as BENCHMARKS.md.
struct BenchReport: Sendable {
    var plan = BenchPlan.full
    var machine = MachineDescription()
    var date = Date()
    var notes: [String] = []
    var startups: [StartupTimes] = []
    var smallTimed: [LoadLevel] = []
    var smallInstant: [LoadLevel] = []
    var streams: [LoadLevel] = []
    var claudeCode: LoadLevel?
    var claudeCodeSizes = ""
    /// spark-bridge's resident set size at moments of the run.
    var bridgeRSS: [(String, Int)] = []
    /// Scenario 6: the routing strategies over several replicas.
    var routing: RoutingReport?
    /// What one thread hand-off costs on this machine, back to back and after idle (section 1c).
    var wakeup: WakeupCost?

    // MARK: Targets

    struct Target {
        let name: String
        let goal: String
        let measured: String
        let met: Bool?
    }

    var targets: [Target] {
        var targets: [Target] = []
        let c64 = smallTimed.first { $0.concurrency == 64 }
        if let direct = c64?.measurements[.direct]?.result, let bridge = c64?.measurements[.bridge]?.result {
            let p50 = Double(bridge.total.p50 - direct.total.p50) / 1e6
            let p99 = Double(bridge.total.p99 - direct.total.p99) / 1e6
            targets.append(Target(name: "Added latency, non-streaming, c=64, p50", goal: "≤ 0.3 ms", measured: Self.format(p50) + " ms", met: p50 <= 0.3))
            targets.append(Target(name: "Added latency, non-streaming, c=64, p99", goal: "≤ 1.5 ms", measured: Self.format(p99) + " ms", met: p99 <= 1.5))
        }
        for (levels, backend) in [(smallInstant, "instant backend"), (smallTimed, "20 ms backend")] {
            let c64 = levels.first { $0.concurrency == 64 }
            if let bridge = c64?.measurements[.bridge]?.result, let litellm = c64?.measurements[.litellm]?.result, litellm.requestsPerSecond > 0 {
                let ratio = bridge.requestsPerSecond / litellm.requestsPerSecond
                targets.append(Target(
                    name: "Throughput at c=64 (\(backend)), spark-bridge ÷ LiteLLM", goal: "≥ 10×",
                    measured: String(format: "%.1f× (%.0f vs %.0f req/s)", ratio, bridge.requestsPerSecond, litellm.requestsPerSecond),
                    met: ratio >= 10
                ))
            }
        }
        let s256 = streams.first { $0.concurrency == 256 }
        if let direct = s256?.measurements[.direct]?.result, let bridge = s256?.measurements[.bridge]?.result {
            let added = Double(bridge.firstToken.p99 - direct.firstToken.p99) / 1e6
            targets.append(Target(name: "Added time to first token, 256 streams, p99", goal: "≤ 2 ms", measured: Self.format(added) + " ms", met: added <= 2))
        }
        if let s1024 = streams.first(where: { $0.concurrency == 1024 })?.measurements[.bridge] {
            let all = s1024.result.failed == 0 && s1024.result.completed > 0
            targets.append(Target(
                name: "1024 concurrent streams all complete", goal: "all",
                measured: "\(s1024.result.completed) of \(s1024.result.samples.count)", met: all
            ))
            if let use = s1024.proxy {
                targets.append(Target(name: "spark-bridge CPU at 1024 streams", goal: "< 1 core", measured: String(format: "%.2f cores", use.cores), met: use.cores < 1))
                targets.append(Target(name: "Peak RSS at 1024 streams", goal: "≤ 200 MB", measured: Self.megabytes(use.peakRSS), met: use.peakRSS <= 200 << 20))
            }
        }
        if let idle = bridgeRSS.first {
            targets.append(Target(name: "RSS idle", goal: "≤ 30 MB", measured: Self.megabytes(idle.1), met: idle.1 <= 30 << 20))
        }
        let rounds = bridgeRSS.filter { $0.0.hasPrefix("idle after repeat round") }
        if let first = rounds.first, let last = rounds.last, rounds.count > 1 {
            targets.append(Target(
                name: "No growth across repeated rounds (last ≤ first + 5%)", goal: "no growth",
                measured: "\(Self.megabytes(first.1)) → \(Self.megabytes(last.1))", met: Double(last.1) <= Double(first.1) * 1.05
            ))
        }
        if let starts = startups.first(where: { $0.what == "spark-bridge" }), !starts.milliseconds.isEmpty {
            let sorted = starts.milliseconds.sorted()
            let median = sorted[sorted.count / 2]
            targets.append(Target(
                name: "Start to READY (median of \(sorted.count))", goal: "≤ 200 ms",
                measured: Self.format(median) + " ms (max " + Self.format(sorted.last!) + ")", met: median <= 200
            ))
        }
        targets += routingTargets
        return targets
    }

    /// Scenario 6's targets: affinity's mean TTFT ≥ 3× lower than round-robin's, its hit rate ≥ 90%, no
    /// replica above 1.5× the mean load; with a replica killed, only its sessions move and nothing fails.
    private var routingTargets: [Target] {
        guard let routing, let affinity = routing.run(.sessionAffinity) else { return [] }
        var targets: [Target] = []
        if let roundRobin = routing.run(.roundRobin), affinity.ttftMeanNanos > 0 {
            let ratio = roundRobin.ttftMeanNanos / affinity.ttftMeanNanos
            targets.append(Target(name: "Routing: round-robin ÷ session-affinity mean TTFT", goal: "≥ 3×", measured: String(format: "%.2f×", ratio), met: ratio >= 3))
        }
        targets.append(Target(name: "Routing: session-affinity prefix-cache hit rate", goal: "≥ 90%", measured: String(format: "%.1f%%", affinity.hitRate * 100), met: affinity.hitRate >= 0.9))
        let peak = max(affinity.peakOverMean(\.requests), affinity.peakOverMean(\.promptTokens))
        targets.append(Target(name: "Routing: session-affinity busiest replica ÷ mean load (requests, prompt tokens)", goal: "≤ 1.5×", measured: String(format: "%.2f×", peak), met: peak <= 1.5))
        if let kill = routing.killRun {
            targets.append(Target(
                name: "Routing: one replica killed halfway: sessions moved from live replicas, failed turns",
                goal: "0 and 0",
                measured: "\(kill.sessionsMovedFromLiveReplicas) and \(kill.failed) (\(kill.sessionsMoved) moved, \(kill.sessionsOnKilled) lived on the killed one; \(kill.failedOnKilled) failed turns were in flight on it)",
                met: kill.sessionsMovedFromLiveReplicas == 0 && kill.failed == 0
            ))
        }
        return targets
    }

    // MARK: Rendering

    func summary() -> String {
        targets.map { "\($0.met == true ? "MET " : "MISS") \($0.name): \($0.measured) (goal \($0.goal))" }.joined(separator: "\n")
    }

    func markdown() -> String {
        var out = "# spark-bridge benchmarks\n\n"
        out += "Written by `make bench` (`Benchmarks/spark-bench`). The same `vllm-sim` backend is reached three ways in one run: "
        out += "directly over its OpenAI API (the floor), through spark-bridge, and through the LiteLLM proxy, both proxies loading the "
        out += "same `Benchmarks/litellm_config.yaml`. Load comes from our own closed-loop NIO generator (one keep-alive connection per "
        out += "virtual user). The machine is shared by all four processes and is noisy: read the ratios within this run, not absolute "
        out += "times across runs.\n\n"
        out += "| | |\n|---|---|\n"
        out += "| date | \(ISO8601DateFormatter().string(from: date)) |\n"
        out += "| source | `\(machine.revision)` |\n"
        out += "| machine | \(machine.cpu), \(machine.cores) cores, \(machine.memory) |\n"
        out += "| system | \(machine.os), \(machine.kernel) |\n"
        out += "| toolchain | \(machine.swift) (release builds) |\n"
        out += "| LiteLLM | \(machine.litellm) |\n\n"
        for note in notes { out += "> \(note)\n\n" }

        out += "## Targets\n\n| target | goal | measured | |\n|---|---|---|---|\n"
        for target in targets {
            out += "| \(target.name) | \(target.goal) | \(target.measured) | \(target.met.map { $0 ? "met" : "**not met**" } ?? "—") |\n"
        }

        out += "\n## 1. Small non-streaming requests\n\n"
        out += "A one-line question answered with \(plan.smallWords) tokens; \(Self.seconds(plan.smallDuration)) per load after \(Self.seconds(plan.smallWarmup)) of warm-up. "
        out += "Latency is the client's total time per request. *Added* = path − direct at the same percentile; the ratio columns are "
        out += "spark-bridge ÷ direct and LiteLLM ÷ spark-bridge.\n\n"
        out += "### 1a. Backend answers after \(plan.smallTTFTMilliseconds) ms (a small prefill on a GPU): latency\n\n"
        out += latencyTable(smallTimed)
        out += "\n### 1b. Backend answers at once: capacity\n\n"
        out += "With nothing to wait for, every path is bound by CPU, and the four processes share \(machine.cores) cores: this is the request rate each proxy can sustain, not the latency it adds.\n\n"
        out += latencyTable(smallInstant)
        out += loneRequestMarkdown()

        out += "\n## 2. Streaming: \(plan.streamTokens) tokens at \(plan.streamTokensPerSecond) tokens/s per stream\n\n"
        out += "Each virtual user streams one answer after another for \(Self.seconds(plan.streamDuration)); streams still running then are awaited. "
        out += "Time to first token (TTFT) is to the first `content_block_delta` (proxies) or first content chunk (direct); the backend's own TTFT is \(plan.streamTTFTMilliseconds) ms. "
        out += "*Complete* means status 200, every token, and `message_stop` / `[DONE]` without an error event.\n\n"
        out += streamTable(streams)

        out += "\n## 3. A Claude Code-size request\n\n"
        out += "\(claudeCodeSizes) One request at a time for \(Self.seconds(plan.claudeCodeDuration)); the answer is a few tokens, so the time is the request's way there and back. "
        out += "The direct path receives the OpenAI body spark-bridge itself sends for it. The translation's own cost is in the microbenchmarks below.\n\n"
        if let claudeCode { out += latencyTable([claudeCode]) }

        out += "\n## 4. Start to ready\n\n| process | ready when | median ms | min | max | starts |\n|---|---|---|---|---|---|\n"
        for startup in startups {
            let sorted = startup.milliseconds.sorted()
            guard let first = sorted.first, let last = sorted.last else { continue }
            out += "| \(startup.what) | \(startup.signal) | \(Self.format(sorted[sorted.count / 2])) | \(Self.format(first)) | \(Self.format(last)) | \(sorted.count) |\n"
        }

        out += "\n## 5. spark-bridge memory over the run\n\nResident set size at each moment (VmRSS); the repeat rounds each run 64 clients of small requests, then \(plan.growthStreams) streams.\n\n"
        out += "| moment | RSS |\n|---|---|\n"
        for (moment, bytes) in bridgeRSS { out += "| \(moment) | \(Self.megabytes(bytes)) |\n" }
        out += "\nCPU seconds and peak RSS of each proxy per load are in the tables above (*proxy CPU* is the proxy's process tree, "
        out += "read from `/proc/PID/stat`; for the direct path it is the simulator's; *peak RSS* is `VmHWM`, reset through "
        out += "`/proc/PID/clear_refs` before each load). *client CPU* is the load generator's own, to show it was not the limit.\n"
        out += routingMarkdown()
        return out
    }

    /// Scenario 6's section.
    func routingMarkdown() -> String {
        guard let routing else { return "" }
        let plan = routing.plan
        var out = "\n## 6. Routing: \(plan.sessions) Claude Code sessions over \(plan.replicas) GPUs\n\n"
        out += "\(plan.replicas) vllm-sim replicas behind one spark-bridge, each with a prefix cache of \(routing.kvCacheTokens) tokens (vLLM's 16-token "
        out += "blocks, LRU): the prompt tokens the sessions share once, plus a 1/\(plan.replicas) share of the sessions at their last turn. "
        out += "Prefill runs at \(plan.prefillTokensPerSecond) tokens/s (time to first token = \(plan.baseTTFTMilliseconds) ms + uncached prompt tokens ÷ that). "
        out += "\(plan.sessions) Claude Code sessions run at once, each \(plan.turns) turns one after another; every turn re-sends the system prompt, "
        out += "the tools and the whole conversation, grown by one task since the turn before, with the session's `X-Claude-Code-Session-Id` "
        out += "(prompts grow from \(routing.firstPromptTokens) to \(routing.finalPromptTokens) tokens, \(routing.sharedPrefixTokens) of them the same in every session). "
        out += "Each strategy gets fresh replicas (cold caches) and a fresh bridge. TTFT is the client's, to the first `content_block_delta`; "
        out += "the hit rate is Σ `vllm:prefix_cache_hits_total` ÷ Σ `vllm:prefix_cache_queries_total` over the replicas; a replica's requests "
        out += "come from the bridge's request log, its prompt tokens from its `vllm:prefix_cache_queries_total`; *sessions* counts where each "
        out += "session sent most of its turns that the load bound did not spill (`route=spilled`).\n\n"
        out += "| strategy | turns ok / failed | TTFT mean ms | TTFT p99 ms | hit rate | requests per replica | prompt tokens per replica (k) | sessions per replica | busiest ÷ mean (requests, tokens) | routes | wall s |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|---|\n"
        var rows = routing.runs.map { ($0.strategy.rawValue, $0) }
        if let kill = routing.killRun { rows.append(("session-affinity, replica \(kill.killed.map(String.init) ?? "?") killed halfway", kill)) }
        for (name, run) in rows {
            let tokens = run.replicas.map { String(format: "%.0f", Double($0.promptTokens) / 1000) }.joined(separator: " / ")
            let routes = run.routes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out += "| \(name) | \(run.requests - run.failed) / \(run.failed)\(Self.statuses(run.failureStatuses)) | \(Self.ms(Int64(run.ttftMeanNanos))) | \(Self.ms(run.ttftP99Nanos)) | "
            out += String(format: "%.1f%%", run.hitRate * 100)
            out += " | \(run.replicas.map { String($0.requests) }.joined(separator: " / ")) | \(tokens) | \(run.replicas.map { String($0.sessions) }.joined(separator: " / ")) | "
            out += String(format: "%.2f×, %.2f×", run.peakOverMean(\.requests), run.peakOverMean(\.promptTokens))
            out += " | \(routes) | \(String(format: "%.1f", run.elapsedSeconds)) |\n"
        }
        if let kill = routing.killRun {
            out += "\nKill run: replica \(kill.killed.map(String.init) ?? "?") was killed (SIGKILL) when half the turns were done. \(kill.sessionsOnKilled) sessions had lived on it; "
            out += "\(kill.sessionsMoved) sessions changed replica after the kill, \(kill.sessionsMovedFromLiveReplicas) of them from a replica still up; \(kill.failed) turns failed, \(kill.failedOnKilled) of them in flight on the killed replica (their answer had begun: the bridge sends nothing twice; a turn still in its prefill is made again elsewhere, behind its head). "
            out += "Its requests and tokens are those it served before the kill; the busiest ÷ mean counts the replicas still up.\n"
        }
        return out
    }

    private func latencyTable(_ levels: [LoadLevel]) -> String {
        table(
            levels, loadHeader: "clients",
            headers: ["p50 ms", "p90 ms", "p99 ms", "added p50 / p99 ms", "req/s", "ok / failed", "ratio p50"]
        ) { kind, level, result, direct in
            let total = result.total
            return [
                Self.ms(total.p50), Self.ms(total.p90), Self.ms(total.p99),
                direct.map { Self.ms(total.p50 - $0.total.p50) + " / " + Self.ms(total.p99 - $0.total.p99) } ?? "—",
                String(format: "%.0f", result.requestsPerSecond), "\(result.completed) / \(result.failed)\(Self.statuses(result))",
                ratio(kind, level) { Double($0.total.p50) },
            ]
        }
    }

    private func streamTable(_ levels: [LoadLevel]) -> String {
        table(
            levels, loadHeader: "streams",
            headers: ["TTFT p50 ms", "TTFT p99 ms", "added TTFT p50 / p99 ms", "total p50 s", "tokens/s delivered", "complete", "ratio TTFT p99"]
        ) { kind, level, result, direct in
            let ttft = result.firstToken
            return [
                Self.ms(ttft.p50), Self.ms(ttft.p99),
                direct.map { Self.ms(ttft.p50 - $0.firstToken.p50) + " / " + Self.ms(ttft.p99 - $0.firstToken.p99) } ?? "—",
                String(format: "%.2f", Double(result.total.p50) / 1e9), String(format: "%.0f", result.tokenEventsPerSecond),
                "\(result.completed) of \(result.samples.count)\(Self.statuses(result))",
                ratio(kind, level) { Double($0.firstToken.p99) },
            ]
        }
    }

    /// A row per load and path: the load, the path, the scenario's `cells` (given the direct path's
    /// result at the same load on the other paths' rows, nil on its own), then what the proxy and the
    /// client used.
    private func table(
        _ levels: [LoadLevel], loadHeader: String, headers: [String],
        cells: (PathKind, LoadLevel, LoadResult, LoadResult?) -> [String]
    ) -> String {
        let columns = [loadHeader, "path"] + headers + ["proxy CPU s (cores)", "peak RSS", "client CPU s"]
        var out = "| " + columns.joined(separator: " | ") + " |\n"
        out += "|" + String(repeating: "---|", count: columns.count) + "\n"
        for level in levels {
            for kind in PathKind.allCases {
                guard let measurement = level.measurements[kind] else { continue }
                let direct = kind == .direct ? nil : level.measurements[.direct]?.result
                let row = [level.label, kind.rawValue] + cells(kind, level, measurement.result, direct) + [
                    Self.use(measurement.proxy), measurement.proxy.map { Self.megabytes($0.peakRSS) } ?? "—",
                    String(format: "%.2f", measurement.result.generatorCPUSeconds),
                ]
                out += "| " + row.joined(separator: " | ") + " |\n"
            }
        }
        return out
    }

    /// spark-bridge ÷ direct on the bridge's row, LiteLLM ÷ spark-bridge on LiteLLM's.
    private func ratio(_ kind: PathKind, _ level: LoadLevel, _ value: (LoadResult) -> Double) -> String {
        let base: PathKind
        switch kind {
        case .direct: return "—"
        case .bridge: base = .direct
        case .litellm: base = .bridge
        }
        guard let over = level.measurements[kind]?.result, let under = level.measurements[base]?.result, value(under) > 0 else { return "—" }
        return String(format: "%.2f×", value(over) / value(under))
    }

    private static func statuses(_ result: LoadResult) -> String {
        statuses(result.failureStatuses)
    }

    private static func statuses(_ failures: [Int: Int]) -> String {
        guard !failures.isEmpty else { return "" }
        return " (" + failures.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "no answer" : String($0.key)): \($0.value)" }.joined(separator: ", ") + ")"
    }

    private static func use(_ use: ResourceUse?) -> String {
        guard let use else { return "—" }
        return String(format: "%.2f (%.2f)", use.cpuSeconds, use.cores)
    }

    static func ms(_ nanos: Int64) -> String { String(format: "%.2f", Double(nanos) / 1e6) }
    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }
    static func seconds(_ amount: TimeAmount) -> String { String(format: "%g s", Double(amount.nanoseconds) / 1e9) }
}
