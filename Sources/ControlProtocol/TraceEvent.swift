// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// `trace`: the daemon's first answer, before the event lines. A refused trace is a `ControlFailure`.
public struct TraceStartReport: Codable, Sendable, Equatable {
    /// Only this alias's requests are traced; nil: all.
    public var alias: String?
    /// True when `request` and `answer` events carry bodies.
    public var bodies: Bool
    /// Events the daemon holds for this reader before it drops new ones (and says how many in a `dropped` event).
    public var queueCapacity: Int

    /// A report with every field given.
    public init(alias: String?, bodies: Bool, queueCapacity: Int) {
        self.alias = alias
        self.bodies = bodies
        self.queueCapacity = queueCapacity
    }

    enum CodingKeys: String, CodingKey {
        case alias, bodies
        case queueCapacity = "queue_capacity"
    }

    /// Encodes every key, `null` for no alias.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(alias, forKey: .alias)
        try container.encode(bodies, forKey: .bodies)
        try container.encode(queueCapacity, forKey: .queueCapacity)
    }
}

/// What happened to a request, one line each on a `trace` connection after its `TraceStartReport`.
public enum TraceEventKind: String, Codable, Sendable, Equatable, CaseIterable {
    /// The request was routed: alias, backend and backend model are known.
    case start
    /// The backend answered with `status`.
    case upstream
    /// The first token went to the client (`ttft_ms`).
    case firstToken = "first_token"
    /// The request failed with `message` (an error response, or an error event ending a stream).
    case error
    /// The response ended: `status`, tokens, `duration_ms`.
    case end
    /// With `--bodies`: the request as sent to the backend (`body`).
    case request
    /// With `--bodies`: the answer as sent to the client (`body`).
    case answer
    /// This reader fell behind: `dropped` events were not sent to it.
    case dropped
}

/// One trace event. Fields that do not apply to its kind are left out.
public struct TraceEvent: Codable, Sendable, Equatable {
    /// When it happened: ISO 8601, UTC, milliseconds (`2026-12-05T11:40:01.123Z`).
    public var time: String
    /// What happened.
    public var event: TraceEventKind
    /// The request's id (`request-id` response header, `REQUEST_ID` in the journal); nil for `dropped`.
    public var requestID: String?
    /// `POST`.
    public var method: String?
    /// `/v1/messages`.
    public var path: String?
    /// The model the client asked for.
    public var model: String?
    /// The alias it resolved to.
    public var alias: String?
    /// The backend (`host:port`).
    public var backend: String?
    /// The model id sent to the backend.
    public var backendModel: String?
    /// HTTP status: the backend's for `upstream`, the client's for `end`.
    public var status: Int?
    /// Time to first token, milliseconds.
    public var ttftMs: Double?
    /// From arrival to the end of the response, milliseconds.
    public var durationMs: Double?
    /// Prompt tokens (cache reads included).
    public var inputTokens: Int?
    /// Answer tokens.
    public var outputTokens: Int?
    /// Why it failed, or a note on how it ended.
    public var message: String?
    /// A body, keys and Claude Code's billing header redacted, cut at `TraceEvent.maxBodyBytes`.
    public var body: String?
    /// Events not sent to this reader.
    public var dropped: Int?

    /// The longest body an event carries; longer ones end with `…[truncated]`.
    public static let maxBodyBytes = 64 * 1024

    /// An event; unset fields are left out of its line.
    public init(
        time: String = TraceEvent.timestamp(Date()), event: TraceEventKind, requestID: String? = nil, method: String? = nil, path: String? = nil,
        model: String? = nil, alias: String? = nil, backend: String? = nil, backendModel: String? = nil, status: Int? = nil,
        ttftMs: Double? = nil, durationMs: Double? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil,
        message: String? = nil, body: String? = nil, dropped: Int? = nil
    ) {
        self.time = time
        self.event = event
        self.requestID = requestID
        self.method = method
        self.path = path
        self.model = model
        self.alias = alias
        self.backend = backend
        self.backendModel = backendModel
        self.status = status
        self.ttftMs = ttftMs
        self.durationMs = durationMs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.message = message
        self.body = body
        self.dropped = dropped
    }

    enum CodingKeys: String, CodingKey {
        case time, event
        case requestID = "request_id"
        case method, path, model, alias, backend
        case backendModel = "backend_model"
        case status
        case ttftMs = "ttft_ms"
        case durationMs = "duration_ms"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case message, body, dropped
    }

    /// `date` as `time` writes it.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The event as one JSON line, newline included.
    public func encodedLine() throws -> Data {
        var data = try ControlWire.makeEncoder().encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Reads an event line (with or without its newline).
    public static func decode(_ line: some Collection<UInt8>) throws -> TraceEvent {
        try ControlWire.makeDecoder().decode(TraceEvent.self, from: Data(line))
    }
}
