// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// The daemon's answer to one request: `ok` and either `result` (the verb's report) or `error`.
///
/// `{"version":1,"ok":true,"result":{…}}` or `{"version":1,"ok":false,"error":{"message":"…"}}`.
public struct ControlResponse<Payload: Codable & Sendable>: Codable, Sendable {
    /// The protocol version of the daemon that answered.
    public var version: Int
    /// True when the verb succeeded and `result` holds its report.
    public var ok: Bool
    /// The verb's report; present when `ok`.
    public var result: Payload?
    /// Why the request failed; present when not `ok`.
    public var error: ControlFailure?

    /// A successful response carrying `result`.
    public static func success(_ result: Payload) -> ControlResponse {
        ControlResponse(version: ControlWire.version, ok: true, result: result, error: nil)
    }

    /// A failed response.
    public static func failure(_ failure: ControlFailure) -> ControlResponse {
        ControlResponse(version: ControlWire.version, ok: false, result: nil, error: failure)
    }

    /// `success` or `failure`, from a result.
    public init(_ outcome: Result<Payload, ControlFailure>) {
        switch outcome {
        case .success(let payload): self = .success(payload)
        case .failure(let failure): self = .failure(failure)
        }
    }

    /// A response with every field given.
    public init(version: Int, ok: Bool, result: Payload?, error: ControlFailure?) {
        self.version = version
        self.ok = ok
        self.result = result
        self.error = error
    }

    /// The response as one JSON line, newline included.
    public func encodedLine() throws -> Data {
        var data = try ControlWire.makeEncoder().encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Reads a response line (with or without its newline).
    public static func decode(_ line: some Collection<UInt8>) throws -> ControlResponse {
        try ControlWire.makeDecoder().decode(ControlResponse.self, from: Data(line))
    }
}

/// Stands in for the payload of a response known to be a failure (refusals, unreadable requests).
public struct NoPayload: Codable, Sendable, Equatable {
    /// The empty payload.
    public init() {}
}

/// Why a control request failed: a message for people and, for a rejected reload, each config error.
public struct ControlFailure: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, one line or several; a rejected reload lists `file:line:column: message` lines.
    public var message: String
    /// The configuration errors behind a rejected reload, in file order; nil for other failures.
    public var diagnostics: [ControlDiagnostic]?

    /// A failure with a message and, for configuration errors, their locations.
    public init(message: String, diagnostics: [ControlDiagnostic]? = nil) {
        self.message = message
        self.diagnostics = diagnostics
    }

    /// `message`.
    public var description: String { message }
}

/// A finding about a configuration file with its location, as `file:line:column: message`.
public struct ControlDiagnostic: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The file as the daemon named it.
    public var file: String
    /// 1-based line; 0 when the finding is about the whole file.
    public var line: Int
    /// 1-based column; 0 when `line` is 0.
    public var column: Int
    /// What is wrong.
    public var message: String

    /// A finding at `file:line:column`.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, or `file: message` for the whole file.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
