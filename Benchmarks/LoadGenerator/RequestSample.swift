// SPDX-License-Identifier: Apache-2.0
/// What one request cost, as the client saw it. Times are nanoseconds from the moment the request's
/// first byte was handed to the socket.
public struct RequestSample: Sendable {
    /// When the request started, in nanoseconds after the run's recording began.
    public var startOffsetNanos: Int64
    /// The HTTP status; `0` when no response head arrived (refused, reset, timed out).
    public var status: Int
    /// Time to the response head.
    public var firstByteNanos: Int64?
    /// Time to the first token event (streams only).
    public var firstTokenNanos: Int64?
    /// Time to the end of the response.
    public var totalNanos: Int64
    /// SSE events received (streams only).
    public var events: Int
    /// Token events received: `content_block_delta` (Anthropic) or content chunks (OpenAI).
    public var tokenEvents: Int
    /// Response body bytes received.
    public var bodyBytes: Int
    /// Whether the answer ended as a good one does: status 200, the whole body, and for a stream its
    /// final event (`message_stop` / `[DONE]`), no error event, and every expected token.
    public var completed: Bool
    /// The response's `request-id` header (spark-bridge and Anthropic send one), to find the request
    /// in the server's log.
    public var requestID: String? = nil
}
