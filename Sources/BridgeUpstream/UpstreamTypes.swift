// SPDX-License-Identifier: Apache-2.0
/// Per-request time limits. `nil` means "no limit" for that phase.
///
/// Each limit ends the request with its own error so callers can tell them apart:
/// - `connect` → ``UpstreamError/connectTimeout``: name resolution plus TCP connect
///   (libcurl's `CURLOPT_CONNECTTIMEOUT_MS`).
/// - `firstByte` → ``UpstreamError/firstByteTimeout``: from the moment libcurl starts sending the
///   request on an established (new or reused) connection until the first response byte (the status
///   line) arrives. For vLLM this covers queueing plus prefill for non-streaming requests.
/// - `idle` → ``UpstreamError/idleTimeout``: once the response has started, the longest gap with no
///   bytes from upstream. Time spent paused by the sink (backpressure) never counts: a slow consumer
///   is not an idle upstream.
/// - `total` → ``UpstreamError/totalTimeout``: from the start of the request to its end, whatever
///   happens in between (a backend sending a byte a second never trips `idle`).
/// - `paused` → ``UpstreamError/consumerStalled``: the longest the sink may hold the transfer paused
///   (a client that reads nothing), after which the request is cancelled to free the backend.
public struct UpstreamTimeouts: Sendable, Hashable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?
    public var total: Duration?
    public var paused: Duration?

    public init(
        connect: Duration? = .seconds(10),
        firstByte: Duration? = .seconds(300),
        idle: Duration? = .seconds(300),
        total: Duration? = nil,
        paused: Duration? = nil
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
        self.paused = paused
    }
}

/// One HTTP request to send upstream.
public struct UpstreamRequest: Sendable {
    /// HTTP method, e.g. "GET", "POST".
    public var method: String
    /// Absolute `http://` or `https://` URL.
    public var url: String
    /// Request headers in order. `Content-Length` is computed from `body`; an `Expect:` header is
    /// suppressed unless given here (no 100-continue round trip).
    public var headers: [(String, String)]
    /// Request body. Sent with `Content-Length` when non-empty (or when the method is POST/PUT/PATCH).
    public var body: [UInt8]
    public var timeouts: UpstreamTimeouts
    /// How an `https` server's certificate is checked.
    public var certificates: CertificateCheck

    /// How an `https` server's certificate is checked (libcurl's `CURLOPT_SSL_VERIFYPEER`,
    /// `CURLOPT_SSL_VERIFYHOST` and `CURLOPT_CAINFO`).
    public enum CertificateCheck: Sendable, Hashable {
        /// Against the system's CA store, host name included.
        case systemStore
        /// Against the CA certificates of this PEM file instead of the system store, host name included.
        case caBundle(path: String)
        /// Not at all: neither the chain nor the host name.
        case none
    }

    public init(
        method: String = "GET",
        url: String,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        certificates: CertificateCheck = .systemStore
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.certificates = certificates
    }
}

/// Why an upstream request did not complete successfully. An HTTP error status (4xx/5xx) is not an
/// `UpstreamError`: it is delivered through ``UpstreamSink/receivedHead(status:headers:)`` and the request
/// completes with `.success`.
public enum UpstreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection could not be made (refused, unreachable, name not resolved). The payload is libcurl's
    /// detailed message, e.g. "Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server".
    case connectFailed(String)
    /// ``UpstreamTimeouts/connect`` elapsed.
    case connectTimeout
    /// ``UpstreamTimeouts/firstByte`` elapsed.
    case firstByteTimeout
    /// ``UpstreamTimeouts/idle`` elapsed.
    case idleTimeout
    /// ``UpstreamTimeouts/total`` elapsed.
    case totalTimeout
    /// The sink held the transfer paused longer than ``UpstreamTimeouts/paused``.
    case consumerStalled
    /// ``UpstreamHandle/cancel()`` or ``UpstreamTransport/shutdown()``.
    case cancelled
    /// Any other libcurl failure: `code` is the `CURLcode`, `message` is `curl_easy_strerror(code)`.
    case transport(code: Int, message: String)

    public var description: String {
        switch self {
        case .connectFailed(let detail): "upstream connect failed: \(detail)"
        case .connectTimeout: "upstream connect timed out"
        case .firstByteTimeout: "upstream sent no response before the first-byte timeout"
        case .idleTimeout: "upstream stream was idle longer than the idle timeout"
        case .totalTimeout: "upstream request took longer than the total timeout"
        case .consumerStalled: "the client read nothing for longer than the paused-stream timeout"
        case .cancelled: "upstream request cancelled"
        case .transport(let code, let message): "upstream transport error \(code): \(message)"
        }
    }
}

/// What the sink wants after being offered body bytes.
public enum UpstreamSinkDecision: Sendable, Hashable {
    /// The bytes were consumed; keep delivering.
    case `continue`
    /// The bytes were NOT consumed: stop the transfer. After ``UpstreamHandle/resume()`` the same bytes are
    /// offered again (see ``UpstreamSink/receivedBody(_:)``).
    case pause
}

/// Receives one upstream response.
///
/// **Every method is called on the transport's single curl thread.** Implementations must not block and
/// should return quickly: every other upstream request is stalled while a sink method runs. Calling
/// ``UpstreamHandle/resume()``, ``UpstreamHandle/cancel()`` or ``UpstreamTransport/start(_:sink:)`` from a
/// sink method is allowed (they only enqueue work for the curl thread).
///
/// Order: at most one `receivedHead`, then zero or more `receivedBody`, then exactly one `completed`.
/// `receivedHead` always precedes `receivedBody`; a request that completes with `.success` has always had
/// `receivedHead` called. No method is called after `completed`.
public protocol UpstreamSink: Sendable {
    /// Final (non-1xx) status line and headers, in order. Interim 1xx responses and trailers are not delivered.
    func receivedHead(status: Int, headers: [(String, String)])

    /// Offers response body bytes. `bytes` is valid only during the call: copy what you keep.
    ///
    /// Return `.continue` when you consumed all of `bytes`. Return `.pause` when you consumed NONE of them
    /// and cannot take more now: the transport stops reading from the upstream socket (TCP backpressure
    /// reaches the server) and, once ``UpstreamHandle/resume()`` is called, offers the same bytes again —
    /// the next call starts at the same byte, and may be longer than the refused buffer (libcurl may
    /// have appended bytes it had already decoded). Nothing is lost or duplicated as long as the sink
    /// either consumes a whole buffer or none of it. This is libcurl's `CURL_WRITEFUNC_PAUSE` contract.
    func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision

    /// Called exactly once per request, whatever happens: success, error, timeout, cancel or shutdown.
    func completed(_ result: Result<Void, UpstreamError>)
}
