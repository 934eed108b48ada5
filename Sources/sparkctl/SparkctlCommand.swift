// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation

/// `sparkctl`: control a running spark-bridge through its control socket, or check a configuration.
@main
struct SparkctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparkctl",
        abstract: "Control a running spark-bridge: status, health, aliases, top, trace, reload, drain, resume; check a configuration.",
        discussion: """
            Exit status: 0 success, 1 the command failed, 3 spark-bridge is not running, 64 usage error.
            Completion: sparkctl --generate-completion-script bash|zsh|fish (the package installs all three).
            """,
        version: "0.1.0",
        subcommands: [
            StatusCommand.self, HealthCommand.self, AliasesCommand.self, TopCommand.self, TraceCommand.self, ReloadCommand.self,
            DrainCommand.self, ResumeCommand.self, CheckCommand.self, EnvCommand.self,
        ]
    )

    @OptionGroup var options: GlobalOptions

    /// Parses, runs, and exits with sparkctl's codes: a usage error is always 64 (EX_USAGE).
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            printError(fullMessage(for: error))
            Foundation.exit(64)
        }
        do {
            try command.run()
        } catch {
            // ExitCode exits with its code, a help request prints the help and exits 0, anything else exits 1.
            exit(withError: error)
        }
    }
}
