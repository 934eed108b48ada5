// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// One request to the daemon, as `sparkctl` sends it.
///
/// On the wire it is a flat JSON object: `{"version":1,"verb":"drain","timeout_seconds":30,"backend":"host:8888"}`.
/// Arguments a verb does not take are ignored.
public enum ControlRequest: Sendable, Equatable {
    /// Daemon counters and state: `StatusReport`.
    case status
    /// Every backend's health: `HealthReport`.
    case health
    /// The configured aliases and their deployments: `AliasesReport`.
    case aliases
    /// Reread the configuration file and swap it in when valid: `ReloadReport`.
    case reload
    /// Stop taking new requests (for everything, or for one backend) and wait up to `timeoutSeconds`
    /// for those in flight; nil leaves the wait to the daemon's `drain_deadline_seconds`: `DrainReport`.
    case drain(timeoutSeconds: Double? = nil, backend: String? = nil)
    /// Take requests again, everywhere or on one backend: `ResumeReport`.
    case resume(backend: String? = nil)
    /// What Claude Code needs to use the bridge, for `alias` (nil: Claude Code's own default names),
    /// with the master key itself only when `withKey`: `ClaudeEnvReport`.
    case claudeEnv(alias: String? = nil, withKey: Bool = false)
    /// Live traffic per alias and per backend over the last minute: `ActivityReport`.
    case activity
    /// Stream request events (of one alias, or all), with bodies when asked: a `TraceStartReport`,
    /// then one `TraceEvent` line per event until the client closes the connection.
    case trace(alias: String? = nil, bodies: Bool = false)

    /// The verb's name on the wire.
    public var verb: ControlVerb {
        switch self {
        case .status: .status
        case .health: .health
        case .aliases: .aliases
        case .reload: .reload
        case .drain: .drain
        case .resume: .resume
        case .claudeEnv: .claudeEnv
        case .activity: .activity
        case .trace: .trace
        }
    }

    /// Reads one request line (without its newline), telling a malformed line, a version this build
    /// does not speak, an unknown verb and a bad argument apart so the daemon can say which.
    public static func parse(_ line: some Collection<UInt8>) throws(ControlRequestError) -> ControlRequest {
        let data = Data(line)
        let decoder = ControlWire.makeDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw .malformed("a request must be a JSON object")
        } catch DecodingError.typeMismatch(_, let context) {
            throw .malformed("\(context.codingPath.last?.stringValue ?? "a field") has the wrong type")
        } catch {
            throw .malformed("the request is not valid JSON")
        }
        guard let version = header.version else { throw .malformed("the request has no \"version\"") }
        guard version == ControlWire.version else { throw .unsupportedVersion(version) }
        guard let verbName = header.verb else { throw .malformed("the request has no \"verb\"") }
        guard let verb = ControlVerb(rawValue: verbName) else { throw .unknownVerb(verbName) }

        let arguments: Arguments
        do {
            arguments = try decoder.decode(Arguments.self, from: data)
        } catch DecodingError.typeMismatch(_, let context) {
            throw .invalidArgument("\(context.codingPath.last?.stringValue ?? "an argument") has the wrong type")
        } catch {
            throw .invalidArgument("unreadable arguments")
        }
        if let backend = arguments.backend, backend.isEmpty {
            throw .invalidArgument("backend must not be empty")
        }
        if let alias = arguments.alias, alias.isEmpty {
            throw .invalidArgument("alias must not be empty")
        }
        switch verb {
        case .status: return .status
        case .health: return .health
        case .aliases: return .aliases
        case .reload: return .reload
        case .drain:
            if let timeout = arguments.timeoutSeconds, !(timeout.isFinite && timeout >= 0) {
                throw .invalidArgument("timeout_seconds must be 0 or more")
            }
            return .drain(timeoutSeconds: arguments.timeoutSeconds, backend: arguments.backend)
        case .resume:
            return .resume(backend: arguments.backend)
        case .claudeEnv:
            if let alias = arguments.alias, alias.isEmpty { throw .invalidArgument("alias must not be empty") }
            return .claudeEnv(alias: arguments.alias, withKey: arguments.withKey ?? false)
        case .activity:
            return .activity
        case .trace:
            return .trace(alias: arguments.alias, bodies: arguments.bodies ?? false)
        }
    }

    /// The fields every request has; both optional so that a missing one gets its own message.
    private struct Header: Decodable {
        let version: Int?
        let verb: String?
    }

    /// The arguments any verb may take.
    private struct Arguments: Decodable {
        let timeoutSeconds: Double?
        let backend: String?
        let alias: String?
        let withKey: Bool?
        let bodies: Bool?

        enum CodingKeys: String, CodingKey {
            case timeoutSeconds = "timeout_seconds", backend, alias, withKey = "with_key", bodies
        }
    }

    /// The request as one JSON line, newline included.
    public func encodedLine() -> Data {
        let encoder = ControlWire.makeEncoder()
        // Encoding a struct of strings and numbers cannot fail.
        var data = (try? encoder.encode(Wire(self))) ?? Data()
        data.append(UInt8(ascii: "\n"))
        return data
    }

    private struct Wire: Encodable {
        let version = ControlWire.version
        let verb: String
        var timeoutSeconds: Double?
        var backend: String?
        var alias: String?
        var withKey: Bool?
        var bodies: Bool?

        init(_ request: ControlRequest) {
            verb = request.verb.rawValue
            switch request {
            case .claudeEnv(let alias, let withKey):
                self.alias = alias
                self.withKey = withKey ? true : nil
            case .drain(let timeout, let backend):
                timeoutSeconds = timeout
                self.backend = backend
            case .resume(let backend):
                self.backend = backend
            case .trace(let alias, let bodies):
                self.alias = alias
                self.bodies = bodies
            case .status, .health, .aliases, .reload, .activity:
                break
            }
        }

        enum CodingKeys: String, CodingKey {
            case version, verb, timeoutSeconds = "timeout_seconds", backend, alias, withKey = "with_key", bodies
        }
    }
}

/// The verbs the daemon answers.
public enum ControlVerb: String, Sendable, CaseIterable, Codable {
    case status, health, aliases, reload, drain, resume, activity, trace
    case claudeEnv = "claude_env"
}

/// Why a request line could not be read; the daemon answers it with an error response and keeps
/// the connection open.
public enum ControlRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON, not an object, or a required field missing.
    case malformed(String)
    /// A `version` other than `ControlWire.version`.
    case unsupportedVersion(Int)
    /// A `verb` this daemon does not know.
    case unknownVerb(String)
    /// A verb's argument has the wrong type or value.
    case invalidArgument(String)
    /// The line is longer than the daemon reads.
    case lineTooLong(limit: Int)

    /// The message sent back in the error response.
    public var description: String {
        switch self {
        case .malformed(let why):
            "malformed request: \(why)"
        case .unsupportedVersion(let version):
            "unsupported control protocol version \(version); this daemon speaks version \(ControlWire.version)"
        case .unknownVerb(let verb):
            "unknown verb \"\(verb)\"; expected one of " + ControlVerb.allCases.map(\.rawValue).joined(separator: ", ")
        case .invalidArgument(let why):
            "invalid argument: \(why)"
        case .lineTooLong(let limit):
            "request line longer than \(limit) bytes"
        }
    }
}
