// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOCore
import NIOHTTP1

/// One connection's HTTP handler: gathers each request, routes it, and answers like vLLM's OpenAI
/// server (FastAPI on uvicorn).
///
/// Routes: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions`, `POST /tokenize`, `GET /metrics`, and the
/// simulator's own `GET /sim/requests`, `POST /sim/reset`, `POST /sim/health`. Anything else gets
/// FastAPI's `{"detail":"Not Found"}`.
final class SimulatorHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies larger than this are refused with 413.
    static let maximumBodySize = 64 << 20

    private let state: SimulatorState
    private var requestHead: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    /// The completion being delivered, if any.
    private var exchange: CompletionExchange?
    /// The scripted fault being delivered, if any.
    private var fault: FaultExchange?
    /// The engine slot of the completion running or waiting on this connection, if any.
    private var slot: EngineSlot?

    init(state: SimulatorState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHead = head
            body = nil
            bodyTooLarge = false
        case .body(var chunk):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maximumBodySize {
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let head = requestHead else { return }
            requestHead = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            handle(context: context, head: head, body: bytes)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.clientClosed()
        exchange = nil
        slot?.release()
        slot = nil
        fault?.clientClosed()
        fault = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func handle(context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8]) {
        let keepAlive = head.isKeepAlive
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let isControl = path.hasPrefix("/sim/")
        let recordID: Int? = isControl ? nil : state.record(
            method: head.method.rawValue,
            path: head.uri,
            headers: head.headers.map { (name: $0.name.lowercased(), value: $0.value) },
            body: body
        )
        func send(_ status: HTTPResponseStatus, _ contentType: String?, _ bytes: [UInt8]) {
            HTTPResponder.respond(
                context: context, state: state, recordID: recordID, version: head.version, status: status,
                contentType: contentType, body: bytes, keepAlive: keepAlive
            )
        }
        func sendJSON(_ status: HTTPResponseStatus, _ bytes: [UInt8]) { send(status, "application/json", bytes) }
        func sendError(_ error: APIError) {
            sendJSON(HTTPResponseStatus(statusCode: error.status), error.body(format: state.configuration.errorFormat))
        }

        if bodyTooLarge {
            sendError(APIError(status: 413, message: "Request body larger than \(Self.maximumBodySize) bytes"))
            return
        }
        switch (head.method, path) {
        case (.GET, "/health"):
            send(state.isHealthy ? .ok : .serviceUnavailable, nil, [])
        case (.GET, "/metrics"):
            let configuration = state.configuration
            send(.ok, MetricsPage.contentType, MetricsPage.body(
                state.metrics, modelName: configuration.models[0], createdAt: state.startedAtSeconds, names: configuration.metricNames
            ))
        case (.GET, "/v1/models"):
            let configuration = state.configuration
            sendJSON(.ok, ModelList.body(models: configuration.models, created: state.startedAt, maxModelLen: configuration.maxModelLen))
        case (.POST, "/v1/chat/completions"):
            guard let recordID else { return }
            if let status = state.takeScriptedFailure() {
                sendError(APIError(status: status, message: "vllm-sim --fail-status \(status): simulated failure"))
                return
            }
            startCompletion(context: context, head: head, body: body, recordID: recordID, sendError: sendError)
        case (.POST, "/tokenize"):
            do throws(APIError) {
                let json = try Self.parseBody(body)
                let configuration = state.configuration
                sendJSON(.ok, try TokenizeEndpoint.respond(to: json, models: configuration.models, maxModelLen: configuration.maxModelLen))
            } catch {
                sendError(error)
            }
        case (.GET, "/sim/requests"):
            sendJSON(.ok, JSONValue.array(state.recordedRequests.map(\.jsonValue)).jsonBytes)
        case (.POST, "/sim/reset"):
            state.resetRecord()
            sendJSON(.ok, JSONValue.object(["ok": true]).jsonBytes)
        case (.POST, "/sim/health"):
            let requested = (try? JSONParser.parse(body))?["healthy"]?.boolValue
            state.isHealthy = requested ?? !state.isHealthy
            sendJSON(.ok, JSONValue.object(["healthy": .bool(state.isHealthy)]).jsonBytes)
        case (_, "/health"), (_, "/v1/models"), (_, "/metrics"), (_, "/v1/chat/completions"), (_, "/tokenize"),
            (_, "/sim/requests"), (_, "/sim/reset"), (_, "/sim/health"):
            sendJSON(.methodNotAllowed, Array(#"{"detail":"Method Not Allowed"}"#.utf8))
        default:
            sendJSON(.notFound, Array(#"{"detail":"Not Found"}"#.utf8))
        }
    }

    /// Validates a completion request like vLLM does before it reaches the engine, then starts
    /// delivering the simulated generation.
    private func startCompletion(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        body: [UInt8],
        recordID: Int,
        sendError: (APIError) -> Void
    ) {
        let configuration = state.configuration
        let request: ChatRequest
        let model: String
        let directive: SimDirective?
        let generation: Generation
        do throws(APIError) {
            (request, model, directive, generation) = try Self.plan(body: body, configuration: configuration)
        } catch {
            sendError(error)
            return
        }
        if let scripted = directive?.fault {
            let fault = FaultExchange(
                context: context, state: state, fault: scripted, streams: request.stream, model: model,
                recordID: recordID, version: head.version, keepAlive: head.isKeepAlive,
                onFinished: { [weak self] in self?.fault = nil }
            )
            self.fault = fault
            fault.begin()
            return
        }
        let coldStart = state.takeColdStart() ? configuration.coldStartMilliseconds : 0
        // Each exchange gives back its own slot (a pipelined request must not release another's).
        let slot = EngineSlot(state: state)
        let exchange = CompletionExchange(
            context: context, state: state, request: request, model: model, generation: generation,
            directive: directive, recordID: recordID, version: head.version, keepAlive: head.isKeepAlive,
            extraDelayMilliseconds: coldStart,
            onFinished: { [weak self] in
                self?.exchange = nil
                slot.release()
            }
        )
        self.exchange = exchange
        self.slot = slot
        exchange.begin()
        let tokens = configuration.kvCacheTokens > 0 ? PrefixCache.tokenIDs(messages: request.messages, tools: request.tools) : []
        let loop = context.eventLoop
        let waiting = NIOLoopBound(exchange, eventLoop: loop)
        let submitted = state.submit(tokens: tokens, promptTokens: generation.promptTokens) { admission in
            loop.execute { waiting.value.run(cachedTokens: admission.cachedTokens) }
        }
        slot.ticket = submitted.ticket
        if let admission = submitted.admission { exchange.run(cachedTokens: admission.cachedTokens) }
    }

    /// Reads and checks a completion request like vLLM does before it reaches the engine, and plans
    /// its generation: the 4xx vLLM would answer, or what to send.
    static func plan(body: [UInt8], configuration: SimulatorConfiguration) throws(APIError)
        -> (request: ChatRequest, model: String, directive: SimDirective?, generation: Generation)
    {
        let request = try ChatRequest(body: try parseBody(body))
        let model = request.model ?? configuration.models[0]
        guard configuration.models.contains(model) else { throw .unknownModel(model) }
        let directive = try SimDirective.find(in: request.messages)
        if let scripted = directive?.error {
            throw APIError(status: scripted.status, message: scripted.message, type: scripted.type, param: scripted.param)
        }
        let promptTokens = directive?.promptTokens
            ?? PromptTokenEstimator.count(messages: request.messages, tools: request.tools)
        let window = configuration.maxModelLen
        if promptTokens > window {
            throw .promptTooLong(maxModelLen: window, promptTokens: promptTokens)
        }
        // `promptTokens <= window` here, so the difference cannot overflow (the sum could: max_tokens is the client's).
        if let maxTokens = request.maxTokens, maxTokens > window - promptTokens {
            throw .requestTooLong(maxModelLen: window, promptTokens: promptTokens, maxTokens: maxTokens)
        }
        let generation = Generation(request: request, directive: directive, promptTokens: promptTokens, maxModelLen: window)
        return (request, model, directive, generation)
    }

    /// The body as JSON, or the 400 vLLM answers for an unparsable body.
    static func parseBody(_ body: [UInt8]) throws(APIError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw .badRequest("JSON decode error: \(error.description)")
        }
    }
}

/// One completion's place in the engine, given back exactly once (when it finishes or its client
/// leaves). Lives on the connection's event loop only.
final class EngineSlot {
    private let state: SimulatorState
    /// The engine's ticket, once submitted.
    var ticket: Int?

    init(state: SimulatorState) { self.state = state }

    func release() {
        guard let ticket else { return }
        self.ticket = nil
        state.release(ticket)
    }
}
