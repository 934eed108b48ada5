// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol
import Foundation

/// sparkctl's side of the control socket: sends one request to the daemon and turns what can go
/// wrong into messages and exit codes.
enum DaemonConnection {
    /// How long a verb waits for its answer unless it says otherwise.
    static let defaultReplyTimeout: Duration = .seconds(10)

    /// The daemon's answer to `request`: its report, or the failure it reported.
    ///
    /// A daemon that is not running exits 3; a connection or protocol problem exits 1 — both after
    /// saying why on stderr.
    static func call<Payload: Codable & Sendable>(
        _ request: ControlRequest, expecting: Payload.Type, options: GlobalOptions, timeout: Duration = defaultReplyTimeout
    ) throws(ExitCode) -> Result<Payload, ControlFailure> {
        switch fetch(request, expecting: Payload.self, options: options, timeout: timeout) {
        case .success(let outcome):
            return outcome
        case .failure(let problem):
            printError("sparkctl: \(problem.message)")
            throw problem.exitCode
        }
    }

    /// The daemon's answer to `request`, or why there is none (without printing it): what `top`
    /// shows in its frame and keeps retrying.
    static func fetch<Payload: Codable & Sendable>(
        _ request: ControlRequest, expecting: Payload.Type, options: GlobalOptions, timeout: Duration = defaultReplyTimeout
    ) -> Result<Result<Payload, ControlFailure>, ConnectionProblem> {
        let line: [UInt8]
        do {
            line = try ControlClient(path: options.socketPath).exchange(request, timeout: timeout)
        } catch {
            return .failure(ConnectionProblem(error))
        }
        return decode(line, expecting: Payload.self)
    }

    /// A response line read: the report or the daemon's failure, or a protocol problem.
    static func decode<Payload: Codable & Sendable>(_ line: [UInt8], expecting: Payload.Type) -> Result<Result<Payload, ControlFailure>, ConnectionProblem> {
        let response: ControlResponse<Payload>
        do {
            response = try ControlResponse<Payload>.decode(line)
        } catch {
            return .failure(ConnectionProblem(message: "unreadable answer from spark-bridge: \(String(decoding: line.prefix(200), as: UTF8.self))"))
        }
        guard response.version == ControlWire.version else {
            return .failure(ConnectionProblem(message: "spark-bridge speaks control protocol version \(response.version); this sparkctl speaks \(ControlWire.version)"))
        }
        if response.ok, let result = response.result { return .success(.success(result)) }
        return .success(.failure(response.error ?? ControlFailure(message: "spark-bridge refused the request without saying why")))
    }

    /// The report, or exit 1 after printing the failure (as JSON with `--json`).
    static func report<Payload: Codable & Sendable>(
        _ request: ControlRequest, expecting: Payload.Type, options: GlobalOptions, timeout: Duration = defaultReplyTimeout
    ) throws(ExitCode) -> Payload {
        switch try call(request, expecting: Payload.self, options: options, timeout: timeout) {
        case .success(let payload):
            return payload
        case .failure(let failure):
            printFailure(failure, options: options)
            throw ExitCode.failure
        }
    }

    /// A failure: `{"error":{…}}` on stdout with `--json`, `sparkctl: message` on stderr otherwise.
    static func printFailure(_ failure: ControlFailure, options: GlobalOptions) {
        if options.json {
            printJSON(["error": failure])
        } else {
            printError("sparkctl: \(failure.message)")
        }
    }
}

/// Why no answer came: the daemon is not running (exit 3) or the exchange failed (exit 1).
struct ConnectionProblem: Error {
    let message: String
    let exitCode: ExitCode

    init(message: String, exitCode: ExitCode = .failure) {
        self.message = message
        self.exitCode = exitCode
    }

    init(_ error: ClientError) {
        switch error {
        case .notRunning(let why): self.init(message: "spark-bridge is not running (\(why))", exitCode: ExitCode(3))
        case .failed(let why): self.init(message: why)
        }
    }
}

/// Prints `value` as indented JSON with sorted keys: stable output for scripts and diffs.
func printJSON(_ value: some Encodable) {
    let encoder = ControlWire.makeEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // The report types encode plain strings, numbers, booleans and dates; they cannot fail.
    guard let data = try? encoder.encode(value) else { return }
    print(String(decoding: data, as: UTF8.self))
}
