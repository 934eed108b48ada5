// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import ControlProtocol
import FoundationEssentials
import Logging

/// What the completion log line says about one request. Filled in as the request goes; logged once
/// when its response ends. Never holds prompt text or keys.
///
/// With `observers`, it also reports the request live: to the `ActivityBoard` (`sparkctl top`) and
/// as `TraceEvent`s to the `TraceHub` (`sparkctl trace`), where bodies only go, redacted, while a
/// reader asks for them.
final class RequestRecord {
    let requestID: String
    let method: String
    let path: String
    let route: Route
    let started = ContinuousClock.now
    var alias: String?
    var clientModel: String?
    var backendModel: String?
    var backend: String?
    /// How routing picked the deployment (`affinity`, `spilled`, `least-busy`…).
    var routing: DeploymentSelection.Route?
    var firstTokenAt: ContinuousClock.Instant?
    var usage: AnthropicUsage?
    var note: String?
    /// Requests sent to a backend for this one (a retry makes two).
    var upstreamCalls = 0
    /// `event: ping`s sent to keep a silent stream open.
    var keepalivePings = 0
    /// The kind of backend failure, for `spark_bridge_upstream_errors_total` (`connect`, `timeout`, `http_5xx`…).
    var upstreamError: String?
    private let observers: RequestObservers?
    /// Set by `routed()`: the request counts in its alias's and backend's requests in flight.
    private var isRouted = false
    private var isStreaming = false
    private var hasFailed = false
    private var streamedOutputTokens = 0
    /// The answer as sent, for a trace reader of bodies; nil when none asked at routing.
    private var capturedAnswer: [UInt8]?

    init(requestID: String, method: String, path: String, route: Route, observers: RequestObservers? = nil) {
        self.requestID = requestID
        self.method = method
        self.path = path
        self.route = route
        self.observers = observers
    }

    /// Adds to the note (after what it already says).
    func addNote(_ text: String) {
        note = note.map { "\($0); \(text)" } ?? text
    }

    func markFirstToken() {
        guard firstTokenAt == nil else { return }
        let now = ContinuousClock.now
        firstTokenAt = now
        trace(.firstToken) { $0.ttftMs = (now - self.started).inMilliseconds }
    }

    /// The alias, backend and backend model are set: the request counts as in flight there, and
    /// trace readers see it start. `body` is what goes to the backend, for readers of bodies.
    func routed(body: @autoclosure () -> [UInt8]) {
        guard let observers, let alias, let backend, !isRouted else { return }
        isRouted = true
        observers.activity.requestStarted(alias: alias, backend: backend)
        trace(.start) { _ in }
        if observers.trace.wantsBodies(alias: alias) {
            capturedAnswer = []
            let text = TraceRedaction.bodyText(body())
            trace(.request) { $0.body = text }
        }
    }

    /// The backend answered with `status`.
    func upstreamResponded(status: Int) {
        trace(.upstream) { $0.status = status }
    }

    /// The answer is streamed from now on.
    func streamStarted() {
        guard let observers, isRouted, !isStreaming, let alias, let backend else { return }
        isStreaming = true
        observers.activity.streamStarted(alias: alias, backend: backend)
    }

    /// `count` answer tokens (streamed deltas) went to the client.
    func streamedOutput(tokens count: Int) {
        guard let observers, isRouted, count > 0, let alias, let backend else { return }
        streamedOutputTokens += count
        observers.activity.outputTokens(count, alias: alias, backend: backend)
    }

    /// Answer bytes as sent to the client, kept (up to the trace limit) while a reader wants bodies.
    func answered(_ bytes: @autoclosure () -> [UInt8]) {
        guard let count = capturedAnswer?.count, count <= TraceEvent.maxBodyBytes else { return }
        capturedAnswer?.append(contentsOf: bytes().prefix(TraceEvent.maxBodyBytes + 1 - count))
    }

    /// The request failed: an error response, or an error event that ended its stream. The first
    /// reason is the one traced.
    func failed(_ message: String) {
        guard !hasFailed else { return }
        hasFailed = true
        trace(.error) { $0.message = message }
    }

    /// One line at completion: request id, alias → backend model, status, time to first token,
    /// duration, tokens in and out, as text and as structured metadata.
    func log(status: Int?, to logger: Logger, metrics: BridgeMetrics) {
        let elapsed = ContinuousClock.now - started
        let duration = Int(elapsed.inMilliseconds)
        var metadata: Logger.Metadata = [
            "REQUEST_ID": "\(requestID)",
            "STATUS": "\(status ?? 0)",
            "DURATION_MS": "\(duration)",
        ]
        var text = "\(requestID) \(method) \(Self.clipped(path))"
        if let clientModel {
            let clientModel = Self.clipped(clientModel)
            let target = [backendModel, backend].compactMap { $0 }.joined(separator: " @ ")
            text += " \(clientModel)"
            if let alias, alias != clientModel { text += " (alias \(alias))" }
            if !target.isEmpty { text += " -> \(target)" }
            metadata["ALIAS"] = "\(alias ?? clientModel)"
        }
        if let backendModel { metadata["BACKEND_MODEL"] = "\(backendModel)" }
        if let backend { metadata["BACKEND"] = "\(backend)" }
        if let routing, routing != .only {
            text += " route=\(routing.rawValue)"
            metadata["ROUTE"] = "\(routing.rawValue)"
        }
        text += " status=\(status ?? 0)"
        if let firstTokenAt {
            let ttft = Int((firstTokenAt - started).inMilliseconds)
            text += " ttft_ms=\(ttft)"
            metadata["TTFT_MS"] = "\(ttft)"
        }
        text += " duration_ms=\(duration)"
        if let usage {
            let input = usage.inputTokens + usage.cacheReadInputTokens
            text += " tokens_in=\(input) tokens_out=\(usage.outputTokens)"
            metadata["INPUT_TOKENS"] = "\(input)"
            metadata["OUTPUT_TOKENS"] = "\(usage.outputTokens)"
        }
        if upstreamCalls > 0 {
            text += " upstream_calls=\(upstreamCalls)"
            metadata["UPSTREAM_CALLS"] = "\(upstreamCalls)"
        }
        if keepalivePings > 0 {
            text += " pings=\(keepalivePings)"
            metadata["KEEPALIVE_PINGS"] = "\(keepalivePings)"
        }
        if let note { text += " (\(Self.clipped(note)))" }
        logger.info("\(text)", metadata: metadata)
        report(status: status ?? 0, elapsed: elapsed)
        if let upstreamError { metrics.recordUpstreamError(kind: upstreamError, backend: backend) }
        if upstreamCalls > 0 { metrics.recordUpstreamCalls(upstreamCalls, alias: alias) }
        metrics.recordRequest(
            route: route, alias: alias, status: status ?? 0,
            timeToFirstToken: firstTokenAt.map { $0 - started }, duration: elapsed,
            inputTokens: usage.map { $0.inputTokens + $0.cacheReadInputTokens }, outputTokens: usage?.outputTokens
        )
    }

    /// Longest client-supplied text (path, model name) a log line carries.
    static let maximumLoggedField = 256

    /// `text` cut to `maximumLoggedField` characters, marked with `…` when cut: a client cannot make
    /// one request write kilobytes of log.
    static func clipped(_ text: String) -> String {
        guard text.utf8.count > maximumLoggedField else { return text }
        let kept = text.prefix(maximumLoggedField)
        return kept.endIndex == text.endIndex ? text : kept + "…"
    }

    /// The end, for `sparkctl top` and `sparkctl trace`.
    private func report(status: Int, elapsed: Duration) {
        guard let observers else { return }
        let failed = hasFailed || upstreamError != nil || (status >= 400 && status != 499)
        let ttft = firstTokenAt.map { ($0 - started).inMilliseconds }
        if isRouted, let alias, let backend {
            let remaining = max(0, (usage?.outputTokens ?? 0) - streamedOutputTokens)
            observers.activity.requestFinished(alias: alias, backend: backend, streamed: isStreaming, timeToFirstTokenMs: ttft, failed: failed, remainingOutputTokens: remaining)
        } else if clientModel != nil {
            observers.activity.unroutedRequestFinished(alias: alias, failed: failed)
        }
        if let capturedAnswer, !capturedAnswer.isEmpty {
            let text = TraceRedaction.bodyText(capturedAnswer)
            trace(.answer) { $0.body = text }
        }
        trace(.end) { event in
            event.status = status
            event.ttftMs = ttft
            event.durationMs = elapsed.inMilliseconds
            event.inputTokens = self.usage.map { $0.inputTokens + $0.cacheReadInputTokens }
            event.outputTokens = self.usage?.outputTokens
            event.message = self.note
        }
    }

    /// Publishes an event of `kind` about this request, filled in by `fill`, when someone listens.
    private func trace(_ kind: TraceEventKind, _ fill: (inout TraceEvent) -> Void) {
        guard let hub = observers?.trace, hub.isListening(alias: alias) else { return }
        var event = TraceEvent(
            event: kind, requestID: requestID, method: method, path: path, model: clientModel, alias: alias,
            backend: backend, backendModel: backendModel
        )
        fill(&event)
        hub.publish(event)
    }
}

/// Where requests report live: the activity board (`sparkctl top`) and the trace hub (`sparkctl trace`).
struct RequestObservers: Sendable {
    let activity: ActivityBoard
    let trace: TraceHub
}
