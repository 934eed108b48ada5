// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOHTTP1

/// Which API a response speaks: decides what counts as a token event and as a finished stream.
public enum APIDialect: String, Sendable {
    /// Anthropic Messages: a token is a `content_block_delta` event; a stream ends with `message_stop`.
    case anthropic
    /// OpenAI Chat Completions: a token is a chunk with non-empty `content`; a stream ends with `data: [DONE]`.
    case openAI
}

/// One request, sent over and over by every virtual user of a run: where it goes and the exact bytes.
public struct LoadRequest: Sendable {
    /// The server's address (an IPv4/IPv6 literal or a host name; loopback in every benchmark).
    public var host: String
    /// The server's port.
    public var port: Int
    /// The request path, e.g. `/v1/messages`.
    public var path: String
    /// Extra header fields (authentication, `anthropic-version`); `host`, `content-type` and
    /// `content-length` are added.
    public var headers: [(String, String)]
    /// The JSON body.
    public var body: [UInt8]
    /// Whether the answer is an SSE stream (`"stream": true` in the body).
    public var streams: Bool
    /// How the answer's events are read.
    public var dialect: APIDialect
    /// For streams: how many token events a complete answer carries; a stream with fewer is not complete.
    /// `nil` accepts any count.
    public var expectedTokenEvents: Int?

    /// A request; see the properties.
    public init(
        host: String, port: Int, path: String, headers: [(String, String)] = [], body: [UInt8],
        streams: Bool, dialect: APIDialect, expectedTokenEvents: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.headers = headers
        self.body = body
        self.streams = streams
        self.dialect = dialect
        self.expectedTokenEvents = expectedTokenEvents
    }

    /// The request head, built once per run.
    var head: HTTPRequestHead {
        var fields = HTTPHeaders()
        fields.add(name: "host", value: "\(host):\(port)")
        fields.add(name: "content-type", value: "application/json")
        fields.add(name: "accept", value: streams ? "text/event-stream" : "application/json")
        fields.add(name: "content-length", value: String(body.count))
        for (name, value) in headers { fields.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: fields)
    }
}
