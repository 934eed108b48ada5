// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl status`: uptime, configuration, listeners, traffic, drain state.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemon's uptime, configuration, listeners, requests and drain state."
    )

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let report = try DaemonConnection.report(.status, expecting: StatusReport.self, options: options)
        if options.json { return printJSON(report) }
        let style = Style.stdout
        var table = TextTable()
        table.append([style.bold("version"), report.version])
        table.append([style.bold("uptime"), Formatting.duration(seconds: report.uptimeSeconds)])
        table.append([style.bold("config"), report.configPath])
        table.append([style.bold("config loaded"), Formatting.timestamp(report.configLoadedAt)])
        table.append([style.bold("listeners"), Formatting.list(report.listeners)])
        table.append([style.bold("in flight"), "\(report.requestsInFlight) requests (\(report.streamsInFlight) streaming)"])
        table.append([style.bold("requests total"), "\(report.requestsTotal)"])
        table.append([style.bold("draining"), report.draining ? style.yellow("yes") : "no"])
        table.append([style.bold("drained backends"), Formatting.list(report.drainedBackends)])
        print(table.render(style: style))
    }
}
