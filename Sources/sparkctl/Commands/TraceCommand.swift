// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `sparkctl trace`: request events as they happen, one line each, until interrupted.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print one line per request event as it happens: start, upstream status, first token, error, end.",
        discussion: """
            Runs until interrupted. Events of requests that start after it connects are shown. A reader \
            that falls behind loses events, never slows requests: a 'dropped N events' line says how many.
            --bodies adds the request as sent to the backend and the answer as sent to the client, with \
            keys and Claude Code's billing header redacted; only root and members of the control socket's \
            group may ask for them. --json prints each event as the daemon sends it, one JSON object a line.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Only requests for this alias (a model_name from 'sparkctl aliases').", valueName: "alias"))
    var alias: String?

    @Flag(name: .long, help: "Also print request and answer bodies (redacted).")
    var bodies = false

    func validate() throws {
        if alias?.isEmpty == true { throw ValidationError("--alias must not be empty") }
    }

    func run() throws {
        let style = Style.stdout
        var started = false
        var failure: ControlFailure?
        do {
            try ControlClient(path: options.socketPath).stream(.trace(alias: alias, bodies: bodies), firstLineTimeout: DaemonConnection.defaultReplyTimeout) { (line: [UInt8]) throws(ClientError) -> Bool in
                guard started else {
                    switch DaemonConnection.decode(line, expecting: TraceStartReport.self) {
                    case .success(.success(let report)):
                        started = true
                        if !options.json {
                            printError("sparkctl: tracing \(report.alias.map { "alias \($0)" } ?? "all requests")\(report.bodies ? " with bodies" : ""); Ctrl-C stops")
                        }
                        return true
                    case .success(.failure(let refused)):
                        failure = refused
                        return false
                    case .failure(let problem):
                        throw .failed(problem.message)
                    }
                }
                if options.json {
                    print(String(decoding: line, as: UTF8.self))
                } else if let event = try? TraceEvent.decode(line) {
                    print(TraceLine.render(event, style: style))
                } else {
                    printError("sparkctl: unreadable event: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
                flushStandardOutput()
                return true
            }
        } catch {
            let problem = ConnectionProblem(error)
            printError("sparkctl: \(problem.message)")
            throw problem.exitCode
        }
        if let failure {
            DaemonConnection.printFailure(failure, options: options)
            throw ExitCode.failure
        }
        if started {
            printError("sparkctl: spark-bridge closed the trace")
        }
    }
}

/// One trace event as a line of text: time, request id, event, then what the event says.
enum TraceLine {
    static func render(_ event: TraceEvent, style: Style) -> String {
        let time = event.time.split(separator: "T").last.map { String($0.dropLast(event.time.hasSuffix("Z") ? 1 : 0)) } ?? event.time
        var parts = [style.dim(time), event.requestID ?? "-", style.bold(event.event.rawValue)]
        switch event.event {
        case .start:
            var route = "\(event.method ?? "") \(event.path ?? "") \(event.model ?? "-")"
            if let alias = event.alias, alias != event.model { route += " (alias \(alias))" }
            let target = [event.backendModel, event.backend].compactMap { $0 }.joined(separator: " @ ")
            if !target.isEmpty { route += " -> \(target)" }
            parts.append(route)
        case .upstream:
            parts.append("status=\(event.status.map(String.init) ?? "-")")
            // A call that failed before the client saw a byte, retried or fallen back from (a hop).
            if let message = event.message { parts.append("(\(message))") }
        case .firstToken:
            parts.append("ttft=\(Formatting.milliseconds(event.ttftMs))")
        case .error:
            parts.append(style.red(event.message ?? "-"))
        case .end:
            var fields = ["status=\(event.status.map(String.init) ?? "-")"]
            if event.alias == nil, let path = event.path { fields.insert("\(event.method ?? "") \(path)", at: 0) }
            if let ttft = event.ttftMs { fields.append("ttft=\(Formatting.milliseconds(ttft))") }
            fields.append("duration=\(Formatting.milliseconds(event.durationMs))")
            if let input = event.inputTokens { fields.append("tokens_in=\(input)") }
            if let output = event.outputTokens { fields.append("tokens_out=\(output)") }
            if let message = event.message { fields.append("(\(message))") }
            parts.append(fields.joined(separator: " "))
        case .request, .answer:
            parts.append(event.body ?? "")
        case .dropped:
            parts = [style.dim(time), "-", style.yellow("dropped \(event.dropped ?? 0) events: this reader fell behind")]
        }
        return parts.joined(separator: " ")
    }
}
