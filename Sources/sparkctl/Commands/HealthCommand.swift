// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl health`: one row per backend.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Show each backend's state, requests in flight, vLLM's own load, check latency, models and warmup (what /health serves)."
    )

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let report = try DaemonConnection.report(.health, expecting: HealthReport.self, options: options)
        if options.json { return printJSON(report) }
        let style = Style.stdout
        var table = TextTable(
            headings: ["BACKEND", "STATE", "IN FLIGHT", "RUN", "WAIT", "KV%", "LATENCY", "LAST CHECK", "WARM", "WARMUP", "MODELS", "ERROR"],
            rightAligned: [2, 3, 4, 5, 6, 9]
        )
        for backend in report.backends {
            var state = switch backend.state {
            case .up: style.green("up")
            case .down: style.red("down")
            case .unknown: style.yellow("unknown")
            }
            if backend.drained { state += " " + style.yellow("drained") }
            let models = backend.models.map { model in model.maxModelLen.map { "\(model.id) (\($0))" } ?? model.id }
            table.append([
                backend.name, state, String(backend.inFlight), backend.load?.running.map(String.init) ?? "-",
                backend.load?.waiting.map(String.init) ?? "-", backend.load?.kvCacheUsage.map { String(Int(($0 * 100).rounded())) } ?? "-",
                Formatting.milliseconds(backend.latencyMs), Formatting.timestamp(backend.lastCheck),
                backend.warm ? "yes" : "no", Formatting.milliseconds(backend.lastWarmupLatencyMs),
                Formatting.list(models), backend.lastError ?? "-",
            ])
        }
        if report.backends.isEmpty {
            print("no backends configured")
        } else {
            print(table.render(style: style))
        }
    }
}
