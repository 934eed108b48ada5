// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol

/// `sparkctl drain`: stop taking requests and wait for those in flight.
struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Refuse new requests, wait for those in flight, and print how many finished or were cut.",
        discussion: "New requests get 503 until 'sparkctl resume'. With --backend, only that backend is drained."
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: ArgumentHelp(
        "Wait at most this long for requests in flight, then cut them (default: the daemon's drain_deadline_seconds).",
        valueName: "seconds"
    ))
    var timeout: Double?

    @Option(name: .long, help: ArgumentHelp("Drain only this backend (a name from 'sparkctl health').", valueName: "name"))
    var backend: String?

    /// Longest wait for the answer when no `--timeout` is given: the daemon's deadline is unknown here.
    static let defaultReplyTimeout: Duration = .seconds(600)

    func validate() throws {
        if let timeout, !(timeout.isFinite && timeout >= 0 && timeout <= 86_400) {
            throw ValidationError("--timeout must be between 0 and 86400 seconds")
        }
        if backend?.isEmpty == true { throw ValidationError("--backend must not be empty") }
    }

    func run() throws {
        // The daemon answers once the drain is over: allow its timeout plus a margin.
        let wait = timeout.map { Duration.milliseconds(Int64($0 * 1000)) + .seconds(10) } ?? Self.defaultReplyTimeout
        let report = try DaemonConnection.report(.drain(timeoutSeconds: timeout, backend: backend), expecting: DrainReport.self, options: options, timeout: wait)
        if options.json { return printJSON(report) }
        let what = backend.map { "backend \($0)" } ?? "spark-bridge"
        print("\(what) drained: \(report.finished) finished, \(report.cut) cut")
        if report.draining { print("new requests are refused until 'sparkctl resume\(backend.map { " --backend \($0)" } ?? "")'") }
    }
}
