// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol

extension ActivityReport {
    /// Points in each row's TTFT sparkline (3 s each over the minute).
    public static let sparklinePoints = 20

    /// The rows `sparkctl top` shows: one per alias of `configuration` (and `-` for unmatched model
    /// names, once it has traffic), one per backend, states from `health`, traffic from `board`.
    init(configuration: BridgeConfiguration, health: [BackendHealth], board: ActivityBoard, draining: Bool, requestsInFlight: Int, streamsInFlight: Int) {
        let traffic = board.snapshot(sparklinePoints: Self.sparklinePoints)
        let healthByName = Dictionary(health.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

        var aliasRows: [ActivityRow] = []
        var seen: Set<String> = []
        for alias in configuration.aliases.allAliases where seen.insert(alias.name).inserted {
            let backends = alias.deployments.compactMap { healthByName[$0.backendName] }
            let windows = alias.deployments.compactMap { deployment in
                healthByName[deployment.backendName]?.models.first { $0.id == deployment.model }?.maxModelLen
            }
            aliasRows.append(Self.row(name: alias.name, state: Self.aliasState(backends), traffic: traffic.aliases[alias.name], maxModelLen: windows.min()))
        }
        if let unmatched = traffic.aliases["-"], !seen.contains("-") {
            aliasRows.append(Self.row(name: "-", state: "-", traffic: unmatched, maxModelLen: nil))
        }
        let backendRows = configuration.backends.map { backend in
            let report = healthByName[backend.name]
            let state = report.map { $0.drained ? "drained" : $0.state.rawValue } ?? BackendState.unknown.rawValue
            var row = Self.row(name: backend.name, state: state, traffic: traffic.backends[backend.name], maxModelLen: report?.models.compactMap(\.maxModelLen).min())
            row.vllmWaiting = report?.load?.waiting
            row.vllmRunning = report?.load?.running
            return row
        }
        self.init(
            windowSeconds: ActivityWindow.seconds, sparklineStepSeconds: ActivityWindow.seconds / Self.sparklinePoints,
            requestsInFlight: requestsInFlight, streamsInFlight: streamsInFlight, draining: draining,
            aliases: aliasRows, backends: backendRows
        )
    }

    /// `up` while a backend that takes requests is up; `unknown` while one not yet probed could take
    /// them; `drained` when every backend is drained; else `down`.
    static func aliasState(_ backends: [BackendHealth]) -> String {
        let routable = backends.filter { !$0.drained && $0.state != .down }
        if routable.contains(where: { $0.state == .up }) { return "up" }
        if !routable.isEmpty { return "unknown" }
        if !backends.isEmpty, backends.allSatisfy(\.drained) { return "drained" }
        return "down"
    }

    private static func row(name: String, state: String, traffic: ActivityBoard.Snapshot?, maxModelLen: Int?) -> ActivityRow {
        let window = traffic?.window ?? ActivityWindow().summary(now: 0, sparklinePoints: sparklinePoints)
        return ActivityRow(
            name: name, state: state,
            requestsInFlight: traffic?.requestsInFlight ?? 0, streamsInFlight: traffic?.streamsInFlight ?? 0,
            outputTokensPerSecond: window.outputTokensPerSecond, requestsPerMinute: window.finished,
            errorsPerMinute: window.errors, ttftP50Ms: window.ttftP50Ms, ttftP99Ms: window.ttftP99Ms,
            ttftSparklineMs: window.ttftSparklineMs, maxModelLen: maxModelLen
        )
    }
}
