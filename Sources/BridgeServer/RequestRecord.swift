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
    /// Calls that failed before the client saw any answer, each `name@backend:why`, in order (bounded).
    private(set) var hops: [String] = []
    /// The model name the request was routed on again after the last failed hop (`hops=…>name@backend`).
    var hopTarget: String?
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
        // Made again behind a stream's head: the stream goes on, now from this backend.
        if isStreaming { observers.activity.streamStarted(alias: alias, backend: backend) }
        trace(.start) { _ in }
        if observers.trace.wantsBodies(alias: alias) {
            capturedAnswer = []
            let text = TraceRedaction.bodyText(body())
            trace(.request) { $0.body = text }
        }
    }

    /// A call failed before the client saw any answer; `hop` says where and why (`name@backend:503`).
    func hop(_ hop: String) {
        guard hops.count < FallbackChain.maximumHops else { return }
        hops.append(Self.clipped(hop))
        hopTarget = nil
        trace(.upstream) { $0.message = "failed before the answer: \(hop)" }
    }

    /// The request goes to another deployment: the activity board counts the one left as finished
    /// (failed), and the next ``routed(body:)`` starts it on the new one.
    /// A stream whose head is out stays streaming: the next ``routed(body:)`` counts it on the new one.
    func rerouting() {
        guard let observers, isRouted, let alias, let backend else { return }
        isRouted = false
        observers.activity.requestFinished(alias: alias, backend: backend, streamed: isStreaming, timeToFirstTokenMs: nil, failed: true, remainingOutputTokens: 0)
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
        // Built once per request: each number is written once for the text and the metadata, the text
        // as bytes appended in place, the metadata with room for every field (no rehashing). The console
        // handler writes the text alone, so the metadata is only built for a handler that may use it.
        let statusText = String(status ?? 0)
        let durationText = String(Int(elapsed.inMilliseconds))
        var metadata: Logger.Metadata? = logger.handler is ConsoleLogHandler ? nil : Logger.Metadata(minimumCapacity: 11)
        metadata?["REQUEST_ID"] = .string(requestID)
        metadata?["STATUS"] = .string(statusText)
        metadata?["DURATION_MS"] = .string(durationText)
        var line = LogLine()
        line.append(requestID, " ", method)
        line.append(" ", Self.clipped(path))
        if let clientModel {
            let clientModel = Self.clipped(clientModel)
            line.append(" ", clientModel)
            if let alias, alias != clientModel { line.append(" (alias ", alias, ")") }
            switch (backendModel, backend) {
            case let (model?, backend?): line.append(" -> ", model, " @ ", backend)
            case let (model?, nil): line.append(" -> ", model)
            case let (nil, backend?): line.append(" -> ", backend)
            case (nil, nil): break
            }
            metadata?["ALIAS"] = .string(alias ?? clientModel)
        }
        if let backendModel { metadata?["BACKEND_MODEL"] = .string(backendModel) }
        if let backend { metadata?["BACKEND"] = .string(backend) }
        if let routing, routing != .only {
            line.append(" route=", routing.rawValue)
            metadata?["ROUTE"] = .string(routing.rawValue)
        }
        if !hops.isEmpty {
            var path = hops.joined(separator: ">")
            if let hopTarget { path += ">" + Self.clipped(hopTarget) + "@" + (backend ?? "-") }
            line.append(" hops=", path)
            metadata?["HOPS"] = .string(path)
        }
        line.append(" status=", statusText)
        if let firstTokenAt {
            let ttft = String(Int((firstTokenAt - started).inMilliseconds))
            line.append(" ttft_ms=", ttft)
            metadata?["TTFT_MS"] = .string(ttft)
        }
        line.append(" duration_ms=", durationText)
        if let usage {
            let input = String(usage.inputTokens + usage.cacheReadInputTokens)
            let output = String(usage.outputTokens)
            line.append(" tokens_in=", input, " tokens_out=", output)
            metadata?["INPUT_TOKENS"] = .string(input)
            metadata?["OUTPUT_TOKENS"] = .string(output)
        }
        if upstreamCalls > 0 {
            let calls = String(upstreamCalls)
            line.append(" upstream_calls=", calls)
            metadata?["UPSTREAM_CALLS"] = .string(calls)
        }
        if keepalivePings > 0 {
            let pings = String(keepalivePings)
            line.append(" pings=", pings)
            metadata?["KEEPALIVE_PINGS"] = .string(pings)
        }
        if let note { line.append(" (", Self.clipped(note), ")") }
        logger.info(Logger.Message(stringLiteral: line.text), metadata: metadata)
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

/// The completion line's text, appended as UTF-8 bytes in place and made a `String` once.
private struct LogLine {
    private var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func append(_ piece: String) {
        var piece = piece
        piece.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ first: String, _ second: String) {
        append(first)
        append(second)
    }

    mutating func append(_ first: String, _ second: String, _ third: String) {
        append(first, second)
        append(third)
    }

    mutating func append(_ first: String, _ second: String, _ third: String, _ fourth: String) {
        append(first, second)
        append(third, fourth)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Where requests report live: the activity board (`sparkctl top`) and the trace hub (`sparkctl trace`).
struct RequestObservers: Sendable {
    let activity: ActivityBoard
    let trace: TraceHub
}
