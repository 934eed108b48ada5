// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `sparkctl top`: a live view of traffic per alias and per backend.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show live traffic per alias and per backend, refreshed every second ('q' quits).",
        discussion: """
            Columns: state; requests and streams in flight; vLLM's waiting and running requests ('-' until \
            the daemon reads them); output tokens per second over the last 10 s; time to first token, median \
            and 99th percentile over the last minute, with a sparkline of its median (3 s a point); errors and \
            requests finished in the last minute; the context window (max_model_len).
            Full screen on a terminal; otherwise a frame every second as plain text (with --once, one frame).
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Print one frame and exit.")
    var once = false

    /// Between two frames.
    static let refresh: Duration = .seconds(1)

    func run() throws {
        if options.json {
            return printJSON(try DaemonConnection.report(.activity, expecting: ActivityReport.self, options: options))
        }
        if !once, isatty(STDOUT_FILENO) == 1, let terminal = TerminalSession() {
            defer { terminal.restore() }
            repeat {
                terminal.draw(frame(style: Style.stdout, width: terminal.columns, hint: "q quits"))
            } while !terminal.waitForQuit(timeout: Self.refresh)
            return
        }
        // Plain text: the first frame must come (a daemon that is not there is an error); later ones
        // say what went wrong and go on.
        let first = try DaemonConnection.report(.activity, expecting: ActivityReport.self, options: options)
        print(TopScreen.render(first, time: Date(), style: Style.stdout).joined(separator: "\n"))
        guard !once else { return }
        flushStandardOutput()
        while true {
            Thread.sleep(forTimeInterval: Double(Self.refresh.components.seconds))
            print("")
            print(frame(style: Style.stdout, width: nil, hint: nil).joined(separator: "\n"))
            flushStandardOutput()
        }
    }

    /// The current frame, or one saying why there is none.
    private func frame(style: Style, width: Int?, hint: String?) -> [String] {
        switch DaemonConnection.fetch(.activity, expecting: ActivityReport.self, options: options) {
        case .success(.success(let report)):
            return TopScreen.render(report, time: Date(), style: style, width: width, hint: hint)
        case .success(.failure(let failure)):
            return TopScreen.unavailable("spark-bridge: \(failure.message)", time: Date(), style: style, hint: hint)
        case .failure(let problem):
            return TopScreen.unavailable("sparkctl: \(problem.message)", time: Date(), style: style, hint: hint)
        }
    }
}
