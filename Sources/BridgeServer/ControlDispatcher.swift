// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import FoundationEssentials
import NIOCore

/// Turns one request line into one response line by calling `ControlCommands`.
///
/// Every line gets an answer: an unreadable one, or one for an unknown verb or version, gets an
/// error response, and the connection stays usable.
struct ControlDispatcher: Sendable {
    let commands: any ControlCommands
    /// The line limit, for the message answering an oversized line.
    let maxLineBytes: Int

    /// The response line, newline included, for `line`.
    func respond(to line: ControlLine) async -> Data {
        switch parse(line) {
        case .success(let request): await respond(to: request)
        case .failure(let error): Self.failure(ControlFailure(message: error.description))
        }
    }

    /// The request on `line`, or why there is none.
    func parse(_ line: ControlLine) -> Result<ControlRequest, ControlRequestError> {
        switch line {
        case .tooLong: .failure(.lineTooLong(limit: maxLineBytes))
        case .line(let bytes): Result { () throws(ControlRequestError) in try ControlRequest.parse(bytes.readableBytesView) }
        }
    }

    /// The response line, newline included, for a parsed request.
    func respond(to request: ControlRequest) async -> Data {
        switch request {
        case .status: return Self.encode(.success(await commands.status()))
        case .health: return Self.encode(.success(await commands.health()))
        case .aliases: return Self.encode(.success(await commands.aliases()))
        case .reload: return Self.encode(await commands.reload())
        case .drain(let seconds, let backend):
            // Parsing guarantees a finite, non-negative number; a century is as good as forever.
            let timeout = seconds.map { Duration.milliseconds(Int64((min($0, 3_153_600_000) * 1000).rounded())) }
            return Self.encode(await commands.drain(timeout: timeout, backend: backend))
        case .resume(let backend):
            return Self.encode(await commands.resume(backend: backend))
        case .claudeEnv(let alias, let withKey):
            return Self.encode(await commands.claudeEnv(alias: alias, withKey: withKey))
        case .activity:
            return Self.encode(.success(await commands.activity()))
        case .trace:
            return Self.failure(ControlFailure(message: "trace streams events on its connection: use startTrace"))
        }
    }

    /// `trace`: the first response line and, when accepted, the subscription whose events follow it.
    /// Bodies are refused to a peer that may not read them (`ControlAccessPolicy.mayReadBodies`).
    func startTrace(alias: String?, bodies: Bool, peerMayReadBodies: Bool) -> (line: Data, subscription: TraceSubscription?) {
        guard !bodies || peerMayReadBodies else {
            return (Self.failure(ControlFailure(
                message: "permission denied: trace --bodies shows prompts and answers: only root and members of the control_socket_group may read them"
            )), nil)
        }
        let subscription = commands.trace(alias: alias, bodies: bodies)
        let report = TraceStartReport(alias: alias, bodies: bodies, queueCapacity: TraceHub.queueCapacity(bodies: bodies))
        return (Self.encode(.success(report)), subscription)
    }

    /// One event line; an event that cannot be encoded is skipped (nil).
    static func line(_ event: TraceEvent) -> Data? {
        try? event.encodedLine()
    }

    /// A failure response line.
    static func failure(_ failure: ControlFailure) -> Data {
        encode(Result<NoPayload, ControlFailure>.failure(failure))
    }

    private static func encode<Payload: Codable & Sendable>(_ outcome: Result<Payload, ControlFailure>) -> Data {
        do {
            return try ControlResponse(outcome).encodedLine()
        } catch {
            // A report holding a number JSON cannot carry (NaN, infinity): say so instead of going silent.
            let failure = ControlFailure(message: "the daemon could not encode its answer: \(error)")
            return (try? ControlResponse<NoPayload>.failure(failure).encodedLine()) ?? Data("{}\n".utf8)
        }
    }
}
