// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl env`: shell exports that point Claude Code at the running bridge, with its model names and
/// output and auto-compact limits fitted to the backend's context window: `eval "$(sparkctl env)"`.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print shell exports for Claude Code from the running bridge: eval \"$(sparkctl env)\"."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("Use this model name for every Claude Code model class (default: Claude Code's own names where they resolve).", valueName: "name"))
    var alias: String?

    @Flag(help: "Print the bridge's master key itself (otherwise the key variable is only required).")
    var withKey = false

    func run() throws {
        let report = try DaemonConnection.report(.claudeEnv(alias: alias, withKey: withKey), expecting: ClaudeEnvReport.self, options: options)
        if options.json { return printJSON(report) }
        print(ClaudeCodeEnvironment.exports(report), terminator: "")
    }
}
