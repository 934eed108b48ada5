import BridgeCore
import Logging
import NIOCore

/// What the completion log line says about one request. Filled in as the request goes; logged once
/// when its response ends. Never holds prompt text or keys.
final class RequestRecord {
    let requestID: String
    let method: String
    let path: String
    let route: Route
    let started = NIODeadline.now()
    var alias: String?
    var clientModel: String?
    var backendModel: String?
    var backend: String?
    var firstTokenAt: NIODeadline?
    var usage: AnthropicUsage?
    var note: String?
    /// Requests sent to a backend for this one (a retry makes two).
    var upstreamCalls = 0
    /// `event: ping`s sent to keep a silent stream open.
    var keepalivePings = 0
    /// The kind of backend failure, for `spark_bridge_upstream_errors_total` (`connect`, `timeout`, `http_5xx`…).
    var upstreamError: String?

    init(requestID: String, method: String, path: String, route: Route) {
        self.requestID = requestID
        self.method = method
        self.path = path
        self.route = route
    }

    /// Adds to the note (after what it already says).
    func addNote(_ text: String) {
        note = note.map { "\($0); \(text)" } ?? text
    }

    func markFirstToken() {
        if firstTokenAt == nil { firstTokenAt = .now() }
    }

    /// One line at completion: request id, alias → backend model, status, time to first token,
    /// duration, tokens in and out, as text and as structured metadata.
    func log(status: Int?, to logger: Logger, metrics: BridgeMetrics) {
        let elapsed = NIODeadline.now() - started
        let duration = Self.milliseconds(elapsed)
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
        text += " status=\(status ?? 0)"
        if let firstTokenAt {
            let ttft = Self.milliseconds(firstTokenAt - started)
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
        if let upstreamError { metrics.recordUpstreamError(kind: upstreamError, backend: backend) }
        if upstreamCalls > 0 { metrics.recordUpstreamCalls(upstreamCalls, alias: alias) }
        metrics.recordRequest(
            route: route, alias: alias, status: status ?? 0,
            timeToFirstToken: firstTokenAt.map { .nanoseconds(($0 - started).nanoseconds) },
            duration: .nanoseconds(elapsed.nanoseconds),
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

    static func milliseconds(_ amount: TimeAmount) -> Int {
        Int(amount.nanoseconds / 1_000_000)
    }
}
