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
    /// Ends the exchange now (drain timeout, shutdown deadline): a stream gets an `error` event, a
    /// request still waiting gets 529 `overloaded_error`.
    func cut(reason: String)
}

/// One client connection: reads requests (bodies up to the configured limit), routes them, and keeps
/// the exchange in progress informed of disconnects and writability.
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let bridge: BridgeContext
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    private var maximumBodyBytes = 0
    private var active: (any ActiveExchange)?

    init(bridge: BridgeContext) {
        self.bridge = bridge
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.removeAll(keepingCapacity: true)
            maximumBodyBytes = bridge.configuration.settings.maxBodyBytes
            let declared = requestHead.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            bodyTooLarge = declared > maximumBodyBytes
        case .body(var buffer):
            guard !bodyTooLarge else { return }
            if body.count + buffer.readableBytes > maximumBodyBytes {
                bodyTooLarge = true
                body = []
                return
            }
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            guard let requestHead = head else { return }
            head = nil
            dispatch(requestHead, body: body, context: context)
            body = []
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        active?.clientClosed()
        active = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        active?.writabilityChanged()
        context.fireChannelWritabilityChanged()
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

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let configuration = bridge.configuration
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let record = RequestRecord(requestID: RequestID.make(), method: head.method.rawValue, path: path, observers: bridge.requestObservers)
        let logger = bridge.logger
        let tracker = bridge.tracker
        let metrics = bridge.metrics
        let writer = ResponseWriter(context: context, keepAlive: head.isKeepAlive && !bodyTooLarge, requestID: record.requestID) { [weak self] status in
            self?.active = nil
            tracker.end(record.requestID)
            metrics.recordInFlight(requests: tracker.requestsInFlight, streams: tracker.streamsInFlight)
            record.log(status: status, to: logger, metrics: metrics)
        }

        if bodyTooLarge {
            writer.respond(error: AnthropicError(.requestTooLarge, "Request exceeds the maximum allowed number of bytes (\(configuration.settings.maxBodyBytes))."))
            return
        }
        let isAPIPath = path.hasPrefix("/v1/")
        if isAPIPath, !Authenticator.isAuthorized(head.headers, masterKey: configuration.masterKey?.value) {
            let message = head.headers["x-api-key"].isEmpty && head.headers["authorization"].isEmpty
                ? "x-api-key header is required" : "invalid x-api-key"
            if path == "/v1/chat/completions" || (path == "/v1/models" && head.headers["anthropic-version"].isEmpty) {
                writer.respondJSON(status: 401, OpenAIError.body(message: message, type: "invalid_request_error", code: "invalid_api_key"))
            } else {
                writer.respond(error: AnthropicError(.authentication, message))
            }
            return
        }

        let servesModel = head.method == .POST && ["/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions"].contains(path)
        if servesModel, bridge.isDraining {
            writer.respond(error: AnthropicError(.overloaded, "The bridge is draining and takes no new requests; retry shortly."), extraHeaders: [("x-should-retry", "true")])
            return
        }

        switch (head.method, path) {
        case (.GET, "/metrics"):
            writer.respond(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: bridge.metrics.exposition(health: bridge.healthSnapshot(), counters: bridge.health.counters))
        case (.GET, "/"), (.HEAD, "/"):
            writer.respond(status: 200, contentType: "text/plain; charset=utf-8", body: head.method == .HEAD ? [] : Array("spark-bridge is running\n".utf8))
        case (.GET, "/health"), (.HEAD, "/health"):
            writer.respondJSON(StatusEndpoints.health(configuration, backends: bridge.healthSnapshot()))
        case (.GET, "/v1/models"):
            writer.respondJSON(StatusEndpoints.models(configuration, anthropicClient: !head.headers["anthropic-version"].isEmpty))
        case (.POST, "/v1/messages"):
            let exchange = MessagesExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel, endpoint: .messages)
            track(exchange, record: record, context: context)
            exchange.start(body: body)
        case (.POST, "/v1/messages/count_tokens"):
            let exchange = MessagesExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel, endpoint: .countTokens)
            track(exchange, record: record, context: context)
            exchange.start(body: body)
        case (.POST, "/v1/chat/completions"):
            let exchange = PassthroughExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel)
            track(exchange, record: record, context: context)
            exchange.start(body: body)
        case (_, "/"), (_, "/health"), (_, "/metrics"), (_, "/v1/models"), (_, "/v1/messages"), (_, "/v1/messages/count_tokens"), (_, "/v1/chat/completions"):
            writer.respondJSON(status: 405, AnthropicError(.invalidRequest, "Method \(head.method.rawValue) is not allowed on \(path)").body(requestID: record.requestID), extraHeaders: [])
        default:
            writer.respond(error: AnthropicError(.notFound, "Not found: \(head.method.rawValue) \(path)"))
        }
    }
}
