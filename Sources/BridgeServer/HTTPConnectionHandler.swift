// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import BridgeJSON
import Logging
import NIOCore
import NIOHTTP1

/// An exchange in progress on a connection: told when the client goes away or can take more bytes.
protocol ActiveExchange: AnyObject {
    func clientClosed()
    func writabilityChanged()
    /// Ends the exchange now (drain timeout, shutdown deadline, request deadline): a stream gets an
    /// `error` event, a request still waiting gets 529 `overloaded_error`.
    func cut(reason: String)
}

/// One client connection: judges each request at its head (`RequestAdmission`), reads the bodies
/// of accepted ones (up to `max_body_bytes`), routes them, keeps the exchange in progress informed
/// of disconnects and writability, and holds the connection to `limits` (`ConnectionTimeline`).
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Reading the body of an accepted request.
        case reading(AcceptedRequest)
        /// Answered before its body was read: the rest is read and dropped (at most `max_body_bytes`
        /// more, so the client reads the answer instead of a reset), then the connection closes
        /// unless the answer kept it alive.
        case draining(dropped: Int, closesAtEnd: Bool)
        /// The request is read; its answer is being written.
        case answering
        /// The connection is closing: whatever else arrives is ignored.
        case closing
    }

    private struct AcceptedRequest {
        let head: HTTPRequestHead
        let route: Route
        let record: RequestRecord
        let writer: ResponseWriter
        /// The body, for routes that read it (`Route.readsBody`); other bodies are only counted.
        var body: [UInt8] = []
        var received = 0
    }

    private let bridge: BridgeContext
    private let limits: ConnectionLimits
    /// Accepted over `limits.max_connections`: one answer (health, or 503), then closed.
    private let overLimit: Bool
    /// The raw-bytes end of the pipeline, for closing after the last write.
    weak var edge: ConnectionEdge?
    private var state = State.idle
    private var maximumBodyBytes = 0
    private var active: (any ActiveExchange)?
    private var timeline: ConnectionTimeline
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?

    init(bridge: BridgeContext, limits: ConnectionLimits, overLimit: Bool) {
        self.bridge = bridge
        self.limits = limits
        self.overLimit = overLimit
        timeline = ConnectionTimeline(limits: limits, openedAt: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    /// Bytes arrived on the socket (from `ConnectionEdge`, before they are decoded).
    func bytesReceived() {
        timeline.bytesReceived(at: .now())
        armTimer()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            timeline.headReceived(at: .now())
            admit(head, context: context)
        case .body(let buffer):
            receiveBody(buffer)
        case .end:
            endOfRequest()
        }
        armTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closing
        active?.clientClosed()
        active = nil
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        active?.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    /// A request NIO could not parse has been answered 400 `connection: close` by
    /// `HTTPServerProtocolErrorHandler`, which leaves closing to the pipeline: close once it is sent.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            bridge.metrics.recordConnectionCut(.badRequest)
        }
        state = .closing
        closeWhenWritten()
    }

    // MARK: Requests

    private func admit(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let configuration = bridge.configuration
        maximumBodyBytes = configuration.settings.maxBodyBytes
        let path = String(Route.path(of: head.uri))
        let route = Route(target: path)
        let record = RequestRecord(requestID: RequestID.make(), method: head.method.rawValue, path: path, route: route, observers: bridge.requestObservers)
        let writer = makeWriter(for: record, keepAlive: head.isKeepAlive && !overLimit, context: context)
        let admission = RequestAdmission(
            masterKey: configuration.masterKey?.value, maxBodyBytes: maximumBodyBytes, draining: bridge.isDraining,
            overLimit: overLimit, maxConnections: limits.maxConnections
        )
        switch admission.verdict(for: head, route: route, path: path, requestID: record.requestID) {
        case .reject(let rejection):
            if overLimit { bridge.metrics.recordConnectionCut(.overLimit) }
            let expectsBody = head.headers.first(name: "content-length").map { $0 != "0" } ?? head.headers.contains(name: "transfer-encoding")
            if !head.headers["expect"].isEmpty {
                // The client holds its body back until told to send it: answer, and close.
                writer.keepAlive = false
                state = .closing
                writer.respondJSON(status: rejection.status, rejection.body, extraHeaders: rejection.headers)
                closeWhenWritten()
                return
            }
            if expectsBody { writer.keepAlive = false }
            state = .draining(dropped: 0, closesAtEnd: !writer.keepAlive)
            writer.respondJSON(status: rejection.status, rejection.body, extraHeaders: rejection.headers)
        case .accept(let expectsContinue):
            state = .reading(AcceptedRequest(head: head, route: route, record: record, writer: writer))
            if expectsContinue { writer.sendContinue() }
        }
    }

    private func receiveBody(_ buffer: ByteBuffer) {
        switch state {
        case .reading(var request):
            state = .idle  // gives up its copy, so the body grows in place
            request.received += buffer.readableBytes
            guard request.received <= maximumBodyBytes else {
                request.writer.keepAlive = false
                state = .draining(dropped: 0, closesAtEnd: true)
                respond(RequestAdmission.tooLarge(maxBodyBytes: maximumBodyBytes), to: request)
                return
            }
            if request.route.readsBody { request.body.append(contentsOf: buffer.readableBytesView) }
            state = .reading(request)
        case .draining(let dropped, let closesAtEnd):
            let total = dropped + buffer.readableBytes
            guard total <= maximumBodyBytes else {
                state = .closing
                closeWhenWritten()
                return
            }
            state = .draining(dropped: total, closesAtEnd: closesAtEnd)
        case .idle, .answering, .closing:
            break
        }
    }

    private func endOfRequest() {
        timeline.requestRead(at: .now())
        switch state {
        case .reading(let request):
            state = .answering
            guard let context else { return }
            dispatch(request, context: context)
        case .draining(_, let closesAtEnd):
            if closesAtEnd {
                state = .closing
                closeWhenWritten()
            } else {
                state = .idle
            }
        case .idle, .answering, .closing:
            break
        }
    }

    /// A writer whose end updates this connection: the request is over for the tracker, the log and
    /// the metrics; the connection waits for the next request, or closes when the answer said so.
    private func makeWriter(for record: RequestRecord, keepAlive: Bool, context: ChannelHandlerContext) -> ResponseWriter {
        let logger = bridge.logger
        let tracker = bridge.tracker
        let metrics = bridge.metrics
        return ResponseWriter(context: context, keepAlive: keepAlive, requestID: record.requestID) { [weak self] status in
            self?.active = nil
            self?.timeline.answered(at: .now())
            tracker.end(record.requestID)
            metrics.recordInFlight(requests: tracker.requestsInFlight, streams: tracker.streamsInFlight)
            record.log(status: status, to: logger, metrics: metrics)
        } onEndWritten: { [weak self] keptAlive in
            self?.answerWritten(keptAlive: keptAlive)
        }
    }

    /// The end of an answer is written. A `connection: close` answer closes the connection now if its
    /// request is read (else at the request's end); a kept-alive one waits for the next request.
    private func answerWritten(keptAlive: Bool) {
        guard case .answering = state else { return }
        if !keptAlive {
            state = .closing
            closeWhenWritten()
        } else {
            state = .idle
        }
        armTimer()
    }

    /// Hands an accepted request to its route's endpoint (``Route/table`` has admitted it already).
    private func dispatch(_ request: AcceptedRequest, context: ChannelHandlerContext) {
        let configuration = bridge.configuration
        let writer = request.writer
        let record = request.record
        switch request.route {
        case .metrics:
            writer.respond(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: bridge.metrics.exposition(health: bridge.healthSnapshot(), counters: bridge.health.counters))
        case .root:
            writer.respond(status: 200, contentType: "text/plain; charset=utf-8", body: request.head.method == .HEAD ? [] : Array("spark-bridge is running\n".utf8))
        case .health:
            if let body = StatusEndpoints.health(bridge.healthReport()) {
                writer.respond(status: 200, contentType: "application/json", body: request.head.method == .HEAD ? [] : body)
            } else {
                writer.respond(error: AnthropicError(.api, "The health report could not be encoded"))
            }
        case .models:
            writer.respondJSON(StatusEndpoints.models(configuration, anthropicClient: !request.head.headers["anthropic-version"].isEmpty))
        case .messages:
            startExchange(.messages, request: request, configuration: configuration, context: context)
        case .countTokens:
            startExchange(.countTokens, request: request, configuration: configuration, context: context)
        case .chatCompletions:
            startExchange(.passthrough, request: request, configuration: configuration, context: context)
        case .other:  // refused at the head already
            writer.respond(error: RequestAdmission.notFound(method: record.method, path: record.path))
        }
    }

    private func startExchange(_ kind: Exchange.Kind, request: AcceptedRequest, configuration: BridgeConfiguration, context: ChannelHandlerContext) {
        let exchange = Exchange(
            kind: kind, bridge: bridge, configuration: configuration, writer: request.writer, record: request.record, channel: context.channel,
            sessionHeader: request.head.headers.first(name: "x-claude-code-session-id"),
            requestHeaders: request.head.headers
        )
        track(exchange, record: request.record, context: context)
        exchange.start(body: request.body)
    }

    private func track(_ exchange: some ActiveExchange, record: RequestRecord, context: ChannelHandlerContext) {
        active = exchange
        let loop = context.eventLoop
        let bound = NIOLoopBound(exchange as any ActiveExchange, eventLoop: loop)
        bridge.tracker.begin(record.requestID, cutter: RequestTracker.Cutter(eventLoop: loop) {
            bound.value.cut(reason: "the bridge is shutting down or draining")
        })
        bridge.metrics.recordInFlight(requests: bridge.tracker.requestsInFlight, streams: bridge.tracker.streamsInFlight)
    }

    // MARK: Deadlines

    /// Keeps one timer at the earliest deadline: moved earlier when needed; a timer that fires before
    /// a deadline that moved later just re-arms.
    private func armTimer() {
        guard let context, case let wanted? = timeline.deadline else { return }
        if let timerDeadline, timerDeadline <= wanted { return }
        timer?.cancel()
        timerDeadline = wanted
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: wanted) { [weak self] in
            self?.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        let now = NIODeadline.now()
        while let expiry = timeline.expire(at: now) {
            deadlinePassed(expiry)
        }
        armTimer()
    }

    private func deadlinePassed(_ expiry: ConnectionTimeline.Expiry) {
        if case .closing = state { return }
        switch expiry {
        case .header, .keepAlive:
            bridge.metrics.recordConnectionCut(expiry == .header ? .headerTimeout : .keepAliveTimeout)
            state = .closing
            context?.close(promise: nil)
        case .body:
            bridge.metrics.recordConnectionCut(.bodyTimeout)
            timeOut("The request body stalled for more than \(limits.bodyTimeout.seconds) s (limits.body_timeout_seconds)")
        case .request:
            bridge.metrics.recordConnectionCut(.requestDeadline)
            let reason = "no answer within \(limits.requestDeadline?.seconds ?? 0) s (limits.request_deadline_seconds)"
            if let active {
                active.cut(reason: reason)
            } else {
                timeOut("The request was not read within \(limits.requestDeadline?.seconds ?? 0) s (limits.request_deadline_seconds)")
            }
        }
    }

    /// 408 for a request still being read, then close; a connection past that point just closes.
    private func timeOut(_ message: String) {
        if case .reading(let request) = state {
            request.writer.keepAlive = false
            state = .closing
            respond(AnthropicError(.invalidRequest, message), status: 408, to: request)
            closeWhenWritten()
        } else {
            state = .closing
            context?.close(promise: nil)
        }
    }

    /// `error` answered on `request` in its route's error shape (``Route/Row/errorShape``).
    private func respond(_ error: AnthropicError, status: Int? = nil, to request: AcceptedRequest) {
        let shape = RequestAdmission.shape(request.route.row?.errorShape ?? .anthropic, request.head)
        request.writer.respondJSON(status: status ?? error.httpStatus, RequestAdmission.body(error, shape: shape, requestID: request.record.requestID))
    }

    private func closeWhenWritten() {
        if let edge {
            edge.closeWhenWritten()
        } else {
            context?.close(promise: nil)
        }
    }
}
