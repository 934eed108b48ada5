// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl reload`: the daemon rereads its configuration; prints what changed or why it was refused.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload the configuration file; print what changed, or the errors (exit 1) when it is rejected.",
        discussion: "A rejected configuration changes nothing: the daemon keeps serving with the one it has."
    )

    @OptionGroup var options: GlobalOptions

    /// A reload may warm up new backends before it answers.
    static let replyTimeout: Duration = .seconds(60)

    func run() throws {
        switch try DaemonConnection.call(.reload, expecting: ReloadReport.self, options: options, timeout: Self.replyTimeout) {
        case .success(let report):
            if options.json { printJSON(report) } else { show(report) }
        case .failure(let failure):
            if options.json { printJSON(["error": failure]) } else { showRejection(failure) }
            throw ExitCode.failure
        }
    }

    private func showRejection(_ failure: ControlFailure) {
        printError("sparkctl: reload rejected; spark-bridge keeps its running configuration:")
        if let diagnostics = failure.diagnostics, !diagnostics.isEmpty {
            for diagnostic in diagnostics { printError("  \(diagnostic)") }
        } else {
            for line in failure.message.split(separator: "\n", omittingEmptySubsequences: false) { printError("  \(line)") }
        }
    }

    private func show(_ report: ReloadReport) {
        let style = Style.stdout
        if !report.changed {
            print("configuration reloaded: nothing changed")
        } else {
            print("configuration reloaded:")
            for name in report.added { print("  \(style.green("+")) alias \(name)") }
            for name in report.removed { print("  \(style.red("-")) alias \(name)") }
            for name in report.changedAliases { print("  \(style.yellow("~")) alias \(name) (deployments changed)") }
            for key in report.settingsChanged { print("  \(style.yellow("~")) setting \(key)") }
        }
        for warning in report.warnings { printError("warning: \(warning)") }
    }
}
