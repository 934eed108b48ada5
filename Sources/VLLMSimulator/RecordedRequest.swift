// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// One request the simulator received, as `GET /sim/requests` reports it.
public struct RecordedRequest: Sendable, Equatable {
    /// Sequence number, from 1, in order of arrival.
    public var id: Int
    /// The HTTP method, e.g. `POST`.
    public var method: String
    /// The path, query string included.
    public var path: String
    /// Header names lowercased, in the order received.
    public var headers: [(name: String, value: String)]
    /// The raw body.
    public var body: [UInt8]
    /// Arrival time, seconds since 1970.
    public var receivedAt: Double
    /// The HTTP status answered, once the response head was sent.
    public var status: Int?
    /// Whether the whole response was written.
    public var completed: Bool
    /// Whether the client closed the connection before the response was complete.
    public var aborted: Bool
    /// Completions only, once the engine admitted them: prompt tokens the prefix cache held.
    public var cachedTokens: Int? = nil
    /// Completions only, once admitted: the planned time to first token in milliseconds, counted from
    /// admission (configured or scripted TTFT + cold start + prefill of the uncached prompt tokens).
    public var ttftMilliseconds: Double? = nil

    /// Member-wise equality (headers compared in order).
    public static func == (lhs: RecordedRequest, rhs: RecordedRequest) -> Bool {
        lhs.id == rhs.id && lhs.method == rhs.method && lhs.path == rhs.path
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.body == rhs.body && lhs.receivedAt == rhs.receivedAt && lhs.status == rhs.status
            && lhs.completed == rhs.completed && lhs.aborted == rhs.aborted
            && lhs.cachedTokens == rhs.cachedTokens && lhs.ttftMilliseconds == rhs.ttftMilliseconds
    }

    /// The body as JSON when it parses, else as a string; `null` when empty.
    public var bodyJSON: JSONValue {
        if body.isEmpty { return .null }
        if let value = try? JSONParser.parse(body) { return value }
        return .string(String(decoding: body, as: UTF8.self))
    }

    /// The JSON object `GET /sim/requests` lists.
    public var jsonValue: JSONValue {
        var headerObject = JSONObject()
        for header in headers where headerObject[header.name] == nil { headerObject[header.name] = .string(header.value) }
        return [
            "id": .int(id),
            "method": .string(method),
            "path": .string(path),
            "headers": .object(headerObject),
            "body": bodyJSON,
            "received_at": .number(String(receivedAt)),
            "status": status.map(JSONValue.int) ?? .null,
            "completed": .bool(completed),
            "aborted": .bool(aborted),
            "cached_tokens": cachedTokens.map(JSONValue.int) ?? .null,
            "ttft_ms": ttftMilliseconds.map { .number(String($0)) } ?? .null,
        ]
    }
}
