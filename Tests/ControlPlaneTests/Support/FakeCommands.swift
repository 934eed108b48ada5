// SPDX-License-Identifier: Apache-2.0
import BridgeServer
import ControlProtocol
import Foundation
import Synchronization

/// A `ControlCommands` with fixed answers that records what it was asked.
final class FakeCommands: ControlCommands {
    let statusReport: StatusReport
    let healthReport: HealthReport
    let aliasesReport: AliasesReport
    let reloadOutcome: Result<ReloadReport, ControlFailure>
    let activityReport: ActivityReport
    /// Where `trace` readers subscribe; tests publish to it.
    let traceHub = TraceHub()
    private let log = Mutex<[String]>([])

    init(
        status: StatusReport = Fixtures.status, health: HealthReport = Fixtures.health,
        aliases: AliasesReport = Fixtures.aliases, reload: Result<ReloadReport, ControlFailure> = .success(Fixtures.reload),
        activity: ActivityReport = Fixtures.activity
    ) {
        activityReport = activity
        statusReport = status
        healthReport = health
        aliasesReport = aliases
        reloadOutcome = reload
    }

    /// The calls so far, `verb` or `verb argument…`, in order.
    var calls: [String] { log.withLock { $0 } }

    func status() async -> StatusReport { record("status"); return statusReport }
    func health() async -> HealthReport { record("health"); return healthReport }
    func aliases() async -> AliasesReport { record("aliases"); return aliasesReport }
    func reload() async -> Result<ReloadReport, ControlFailure> { record("reload"); return reloadOutcome }

    func drain(timeout: Duration?, backend: String?) async -> Result<DrainReport, ControlFailure> {
        record("drain \(timeout.map { "\($0)" } ?? "-") \(backend ?? "-")")
        if backend == "nowhere" { return .failure(ControlFailure(message: "no backend called nowhere")) }
        return .success(DrainReport(finished: 3, cut: 1))
    }

    func resume(backend: String?) async -> Result<ResumeReport, ControlFailure> {
        record("resume \(backend ?? "-")")
        return .success(ResumeReport(draining: backend != nil))
    }

    func claudeEnv(alias: String?, withKey: Bool) async -> Result<ClaudeEnvReport, ControlFailure> {
        record("claude_env \(alias ?? "-") \(withKey)")
        if alias == "nowhere" { return .failure(ControlFailure(message: "unknown model nowhere")) }
        let name = alias ?? "claude-opus-5-5"
        return .success(ClaudeEnvReport(
            baseURL: "http://127.0.0.1:4000", keyRequired: true, key: withKey ? "sk-master" : nil, model: name,
            opusModel: name, sonnetModel: alias ?? "claude-sonnet-5-5", haikuModel: alias ?? "claude-haiku-5-5", contextWindow: 131_072
        ))
    }

    func activity() async -> ActivityReport { record("activity"); return activityReport }

    func trace(alias: String?, bodies: Bool) -> TraceSubscription {
        record("trace \(alias ?? "-") \(bodies)")
        return traceHub.subscribe(alias: alias, bodies: bodies, capacity: 4)
    }

    private func record(_ call: String) {
        log.withLock { $0.append(call) }
    }
}

/// The reports `FakeCommands` answers with by default.
enum Fixtures {
    static let loadedAt = Date(timeIntervalSince1970: 1_764_000_000)

    static let status = StatusReport(
        version: "0.1.0-test", uptimeSeconds: 3723.4, configPath: "/etc/spark-bridge/config.yaml", configLoadedAt: loadedAt,
        listeners: ["127.0.0.1:4000", "[::1]:4000"], requestsInFlight: 3, streamsInFlight: 1, requestsTotal: 1234,
        draining: false, drainedBackends: ["10.0.0.2:8000"]
    )

    static let health = HealthReport(backends: [
        BackendHealth(
            name: "10.0.0.1:8888", url: "http://10.0.0.1:8888/v1", state: .up, lastCheck: loadedAt, latencyMs: 12.4,
            models: [BackendModel(id: "Qwen/Qwen3-Coder-30B-A3B-Instruct", maxModelLen: 65536)], warm: true, lastWarmupLatencyMs: 1840,
            inFlight: 3, load: BackendLoad(running: 2, waiting: 5, kvCacheUsage: 0.437, prefixCacheQueries: 1000, prefixCacheHits: 900, readAt: loadedAt)
        ),
        BackendHealth(
            name: "10.0.0.2:8000", url: "http://10.0.0.2:8000/v1", state: .down, lastCheck: loadedAt,
            lastError: "connection refused", drained: true
        ),
    ])

    static let aliases = AliasesReport(
        aliases: [
            AliasInfo(name: "claude-*haiku*", isPattern: true, deployments: [
                AliasDeployment(model: "Qwen/Qwen3-Coder-30B-A3B-Instruct", backend: "10.0.0.1:8888", url: "http://10.0.0.1:8888/v1"),
            ]),
            AliasInfo(name: "claude-*", isPattern: true, deployments: [
                AliasDeployment(model: "Qwen/Qwen3-Coder-30B-A3B-Instruct", backend: "10.0.0.1:8888", url: "http://10.0.0.1:8888/v1"),
                AliasDeployment(model: "Qwen/Qwen3-235B", backend: "10.0.0.2:8000", url: "http://10.0.0.2:8000/v1"),
            ], routing: "session-affinity"),
            AliasInfo(name: "qwen", isPattern: false, deployments: [
                AliasDeployment(model: "Qwen/Qwen3-235B", backend: "10.0.0.2:8000", url: "http://10.0.0.2:8000/v1"),
            ]),
        ],
        defaultModel: "claude-*"
    )

    static let reload = ReloadReport(
        added: ["qwen"], removed: ["gpt-4o"], changedAliases: ["claude-*"], settingsChanged: ["timeouts.idle_seconds"],
        warnings: ["/etc/spark-bridge/config.yaml:7:3: spark_bridge.colour: unknown key, ignored"]
    )

    static let activity = ActivityReport(
        windowSeconds: 60, sparklineStepSeconds: 15, requestsInFlight: 3, streamsInFlight: 2, draining: false,
        aliases: [
            ActivityRow(
                name: "claude-sonnet-*", state: "up", requestsInFlight: 3, streamsInFlight: 2, outputTokensPerSecond: 41.25,
                requestsPerMinute: 12, errorsPerMinute: 1, ttftP50Ms: 152, ttftP99Ms: 1840, ttftSparklineMs: [100, nil, 400, 800],
                maxModelLen: 65536
            ),
            ActivityRow(name: "claude-*haiku*", state: "down", ttftSparklineMs: [nil, nil, nil, nil]),
        ],
        backends: [
            ActivityRow(
                name: "10.0.0.1:8888", state: "up", requestsInFlight: 3, streamsInFlight: 2, outputTokensPerSecond: 41.25,
                requestsPerMinute: 12, errorsPerMinute: 1, ttftP50Ms: 152, ttftP99Ms: 1840, ttftSparklineMs: [100, nil, 400, 800],
                maxModelLen: 65536
            ),
            ActivityRow(name: "10.0.0.2:8000", state: "drained", ttftSparklineMs: [nil, nil, nil, nil]),
        ]
    )

    static let rejectedReload = ControlFailure(
        message: "/etc/spark-bridge/config.yaml:3:15: model_list[0].litellm_params.api_base: expected an http:// or https:// URL, got \"ftp://h\"",
        diagnostics: [ControlDiagnostic(
            file: "/etc/spark-bridge/config.yaml", line: 3, column: 15,
            message: "model_list[0].litellm_params.api_base: expected an http:// or https:// URL, got \"ftp://h\""
        )]
    )
}
