// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl aliases`: every model name and where it goes, one row per deployment.
struct AliasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aliases",
        abstract: "Show the model names clients may use and the backend models behind them."
    )

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let report = try DaemonConnection.report(.aliases, expecting: AliasesReport.self, options: options)
        if options.json { return printJSON(report) }
        let style = Style.stdout
        var table = TextTable(headings: ["ALIAS", "MATCH", "ROUTING", "MODEL", "BACKEND", "URL"])
        for alias in report.aliases {
            for (index, deployment) in alias.deployments.enumerated() {
                let first = index == 0
                table.append([
                    first ? alias.name : "", first ? (alias.isPattern ? "pattern" : "exact") : "", first ? (alias.routing ?? "-") : "",
                    deployment.model, deployment.backend, style.dim(deployment.url),
                ])
            }
        }
        print(table.render(style: style))
        print("default model: \(report.defaultModel ?? "none (unknown names are refused)")")
    }
}
