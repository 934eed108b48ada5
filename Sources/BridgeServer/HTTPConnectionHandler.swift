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

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let configuration = bridge.configuration
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let record = RequestRecord(requestID: RequestID.make(), method: head.method.rawValue, path: path)
        let logger = bridge.logger
        let writer = ResponseWriter(context: context, keepAlive: head.isKeepAlive && !bodyTooLarge, requestID: record.requestID) { [weak self] in
            self?.active = nil
        }
        writer.onLog = { status in record.log(status: status, to: logger) }

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

        switch (head.method, path) {
        case (.GET, "/"), (.HEAD, "/"):
            writer.respond(status: 200, contentType: "text/plain; charset=utf-8", body: head.method == .HEAD ? [] : Array("spark-bridge is running\n".utf8))
        case (.GET, "/health"), (.HEAD, "/health"):
            writer.respondJSON(StatusEndpoints.health(configuration, backends: bridge.healthSnapshot()))
        case (.GET, "/v1/models"):
            writer.respondJSON(StatusEndpoints.models(configuration, anthropicClient: !head.headers["anthropic-version"].isEmpty))
        case (.POST, "/v1/messages"):
            let exchange = MessagesExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel, endpoint: .messages)
            active = exchange
            exchange.start(body: body)
        case (.POST, "/v1/messages/count_tokens"):
            let exchange = MessagesExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel, endpoint: .countTokens)
            active = exchange
            exchange.start(body: body)
        case (.POST, "/v1/chat/completions"):
            let exchange = PassthroughExchange(bridge: bridge, configuration: configuration, writer: writer, record: record, channel: context.channel)
            active = exchange
            exchange.start(body: body)
        case (_, "/"), (_, "/health"), (_, "/v1/models"), (_, "/v1/messages"), (_, "/v1/messages/count_tokens"), (_, "/v1/chat/completions"):
            writer.respondJSON(status: 405, AnthropicError(.invalidRequest, "Method \(head.method.rawValue) is not allowed on \(path)").body(requestID: record.requestID), extraHeaders: [])
        default:
            writer.respond(error: AnthropicError(.notFound, "Not found: \(head.method.rawValue) \(path)"))
        }
    }
}
