// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import BridgeConfig
import ControlProtocol
import Foundation

/// `sparkctl check`: validate a configuration file without a daemon (systemd `ExecStartPre=`).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file without a daemon; exit 0 when valid, 1 when not.",
        discussion: "Errors and warnings name file:line:column. os.environ/NAME values are read from this environment."
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config = "/etc/spark-bridge/config.yaml"

    @OptionGroup var output: OutputOptions

    /// What `--json` prints.
    struct Result: Encodable {
        let valid: Bool
        let aliases: Int
        let backends: Int
        let errors: [ControlDiagnostic]
        let warnings: [ControlDiagnostic]
    }

    func run() throws {
        let json = output.json
        do {
            let loaded = try ConfigLoader.load(path: config, environment: ProcessInfo.processInfo.environment)
            let aliases = loaded.configuration.aliases.allAliases.count
            let backends = loaded.configuration.backends.count
            if json {
                printJSON(Result(valid: true, aliases: aliases, backends: backends, errors: [], warnings: loaded.warnings.map(Self.diagnostic)))
                return
            }
            for warning in loaded.warnings { printError("\(warning.location): warning: \(warning.message)") }
            print("\(config): OK (\(Formatting.count(aliases, "alias", "aliases")), \(Formatting.count(backends, "backend", "backends")))")
        } catch {
            if json {
                printJSON(Result(valid: false, aliases: 0, backends: 0, errors: error.diagnostics.map(Self.diagnostic), warnings: []))
            } else {
                for diagnostic in error.diagnostics { printError("\(diagnostic.location): error: \(diagnostic.message)") }
            }
            throw ExitCode.failure
        }
    }

    private static func diagnostic(_ finding: ConfigDiagnostic) -> ControlDiagnostic {
        ControlDiagnostic(file: finding.file, line: finding.line, column: finding.column, message: finding.message)
    }
}
