// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// HTTP client for the upstream (vLLM), built on libcurl's multi interface and driven by one dedicated thread.
///
/// `init` starts the curl thread. That thread owns the `CURLM`, every easy handle and every libcurl callback.
/// It drives libcurl through the socket interface: libcurl says which sockets to watch and when its timer
/// is due, an `epoll` set waits for them, and `curl_multi_socket_action` runs only the transfer whose socket
/// is ready, so the cost of an event does not grow with the number of open streams. It also checks the
/// first-byte and idle timers. Other threads hand it work (start, resume, cancel, shutdown) through a
/// mutex-protected queue and an `eventfd` in the same `epoll` set, so cancellation and resumption are prompt;
/// the `eventfd` is written only when the thread is waiting, so commands queued while it works cost no wake-up.
///
/// Keep-alive: finished transfers leave their connection in the multi handle's pool, and the next request to
/// the same host reuses it (see ``Configuration``).
///
/// `Sendable` without `@unchecked`: the only stored property is the `CurlLoop`, whose own `@unchecked`
/// conformance is justified there (CURL state is confined to the curl thread; the queue is behind a `Mutex`;
/// counters are atomics).
public final class UpstreamTransport: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `CURLMOPT_MAXCONNECTS`: how many idle connections the pool keeps for reuse. Connections beyond this
        /// are closed when their transfer ends (oldest first). Size it to the expected upstream concurrency.
        public var maxIdleConnections: Int
        /// `CURLMOPT_MAX_HOST_CONNECTIONS`; 0 = unlimited, so a request never waits inside libcurl for a slot.
        public var maxConnectionsPerHost: Int
        /// `CURLOPT_MAXAGE_CONN`: an idle pooled connection older than this is not reused. Below uvicorn's
        /// default keep-alive timeout (5 s) so the bridge does not race vLLM closing an idle connection.
        public var maxIdleConnectionAgeSeconds: Int
        /// `CURLOPT_TCP_KEEPIDLE` / `CURLOPT_TCP_KEEPINTVL` (TCP keep-alive is always on): detect a dead
        /// upstream host during a long silent generation.
        public var tcpKeepAliveIdleSeconds: Int
        public var tcpKeepAliveIntervalSeconds: Int
        /// Name of the curl thread (Linux keeps the first 15 bytes).
        public var threadName: String

        public init(
            maxIdleConnections: Int = 64,
            maxConnectionsPerHost: Int = 0,
            maxIdleConnectionAgeSeconds: Int = 4,
            tcpKeepAliveIdleSeconds: Int = 30,
            tcpKeepAliveIntervalSeconds: Int = 10,
            threadName: String = "upstream-curl"
        ) {
            self.maxIdleConnections = maxIdleConnections
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxIdleConnectionAgeSeconds = maxIdleConnectionAgeSeconds
            self.tcpKeepAliveIdleSeconds = tcpKeepAliveIdleSeconds
            self.tcpKeepAliveIntervalSeconds = tcpKeepAliveIntervalSeconds
            self.threadName = threadName
        }
    }

    private let loop: CurlLoop

    /// Starts the curl thread (and runs `curl_global_init` once per process).
    public init(configuration: Configuration = Configuration()) {
        loop = CurlLoop(configuration: configuration)
        loop.startThread()
    }

    deinit {
        loop.shutdown()
    }

    public var configuration: Configuration { loop.configuration }

    /// Starts a request. The sink is called on the curl thread (see ``UpstreamSink``).
    ///
    /// After ``shutdown()`` the request is not sent: `sink.completed(.failure(.cancelled))` is called before
    /// this returns, on the calling thread.
    @discardableResult
    public func start(_ request: UpstreamRequest, sink: any UpstreamSink) -> UpstreamHandle {
        loop.start(request, sink: sink)
    }

    /// Sets the listener told on the curl thread each time a round of its loop ends, so sinks can hand
    /// what they received to other threads once per round (see ``UpstreamRoundListener``). Replaces the
    /// previous one.
    public func setRoundListener(_ listener: any UpstreamRoundListener) {
        loop.setRoundListener(listener)
    }

    /// Cancels every request (each sink gets `completed(.failure(.cancelled))`), closes all connections and
    /// joins the curl thread. Idempotent; concurrent callers all return after the thread has exited. When
    /// called from a sink (on the curl thread) it cannot join itself: it returns at once and the thread exits
    /// after the callback returns.
    public func shutdown() {
        loop.shutdown()
    }

    /// Total new TCP connections opened by completed requests (`CURLINFO_NUM_CONNECTS`, summed when each
    /// request completes). With keep-alive reuse this grows slower than the request count.
    public var connectionsOpened: Int { loop.connectionsOpened.load(ordering: .relaxed) }

    /// Requests started and not yet completed.
    public var requestsInFlight: Int { loop.requestsInFlight.load(ordering: .relaxed) }
}

/// Controls one started request. Every method is safe from any thread (including from the sink), idempotent,
/// and a no-op once the request has completed.
public final class UpstreamHandle: Sendable {
    private let transfer: Transfer
    private let loop: CurlLoop

    init(transfer: Transfer, loop: CurlLoop) {
        self.transfer = transfer
        self.loop = loop
    }

    /// True once `completed` has been (or is being) delivered to the sink.
    public var isCompleted: Bool { transfer.isCompleted.load(ordering: .acquiring) }

    /// Undoes a `.pause` returned by the sink: the curl thread unpauses the transfer, re-offering the refused
    /// bytes. A resume that reaches the curl thread when the transfer is not paused does nothing, so a consumer
    /// may call it whenever it has room again — including from inside `receivedBody` just before returning
    /// `.pause` (the resume is processed after the callback returns). Repeated calls are coalesced.
    public func resume() {
        guard !isCompleted else { return }
        guard !transfer.resumeQueued.exchange(true, ordering: .sequentiallyConsistent) else { return }
        if !loop.submit(.resume(transfer)) {
            transfer.resumeQueued.store(false, ordering: .sequentiallyConsistent)
        }
    }

    /// Stops the request: the easy handle is removed from the multi handle (and kept for reuse), which closes the
    /// upstream connection unless the response was already complete (vLLM then aborts the generation). The
    /// sink gets `completed(.failure(.cancelled))` unless it already completed otherwise.
    public func cancel() {
        guard !isCompleted else { return }
        guard !transfer.cancelQueued.exchange(true, ordering: .sequentiallyConsistent) else { return }
        loop.submit(.cancel(transfer))
    }
}
