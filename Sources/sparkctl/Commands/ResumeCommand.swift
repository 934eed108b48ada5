// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl resume`: take requests again after a drain.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Take requests again after a drain (everywhere, or on one backend)."
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Resume only this backend.", valueName: "name"))
    var backend: String?

    func validate() throws {
        if backend?.isEmpty == true { throw ValidationError("--backend must not be empty") }
    }

    func run() throws {
        let report = try DaemonConnection.report(.resume(backend: backend), expecting: ResumeReport.self, options: options)
        if options.json { return printJSON(report) }
        print("\(backend.map { "backend \($0)" } ?? "spark-bridge") resumed: taking requests")
        if report.draining { print("spark-bridge as a whole is still drained; 'sparkctl resume' without --backend lifts that") }
    }
}
