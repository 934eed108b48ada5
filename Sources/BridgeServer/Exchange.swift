// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import BridgeJSON
import BridgeUpstream
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1

/// One `/v1/messages`, count_tokens or `/v1/chat/completions` request on its connection: routes it,
/// then feeds every event to its ``ExchangeStateMachine`` and performs the actions it returns — the
/// upstream call, the writes, the keep-alive timer — and copies its facts into the request record.
final class Exchange: UpstreamConsumer, ActiveExchange {
    /// The path the request came in on.
    enum Kind {
        case messages
        case countTokens
        case passthrough
    }

    private let kind: Kind
    private let bridge: BridgeContext
    private let configuration: BridgeConfiguration
    private let writer: ResponseWriter
    private let record: RequestRecord
    private let channel: any Channel
    private var machine: ExchangeStateMachine
    private var call: UpstreamCall?
    private var deployment: Deployment?
    /// Claude Code's session id (from `metadata.user_id`), which keys the prompt-size calibration.
    private var session: String?
    /// The client's `X-Claude-Code-Session-Id` header, which keys session affinity first.
    private let sessionHeader: String?
    /// The request's headers: the Anthropic ones are read from them when the request is relayed to an
    /// Anthropic API deployment (and only then).
    private let requestHeaders: HTTPHeaders
    /// A relayed request asks for a stream (its `stream: true`).
    private var relayStreams = false
    /// Bytes of the completion body last sent, for the prompt-size calibration.
    private var sentBodyBytes = 0
    /// Sends `event: ping` while a stream is silent (``BridgeSettings/keepalive``).
    private var keepalive: RepeatedTask?
    /// Something was written since the last flush.
    private var unflushed = false
    /// The client's body, translated again for each deployment a retry or fallback goes to.
    private var clientBody: [UInt8] = []
    /// The passthrough's request, its `model` replaced for each deployment it goes to.
    private var passthroughObject: JSONObject = [:]
    /// The request relayed to an Anthropic API alias, its `model` replaced for each deployment it goes to.
    private var relayObject: JSONObject = [:]
    /// Retries and fallbacks (nil when none is configured, or the request named no alias).
    private var chain: FallbackChain?
    /// Deployments of the current alias that failed this request: a retry prefers the others.
    private var failedDeployments: [Deployment] = []
    /// The last routing found no deployment to take the request (every one drained).
    private var aliasUnavailable = false

    init(
        kind: Kind, bridge: BridgeContext, configuration: BridgeConfiguration, writer: ResponseWriter, record: RequestRecord, channel: any Channel,
        sessionHeader: String? = nil, requestHeaders: HTTPHeaders = [:]
    ) {
        self.kind = kind
        self.sessionHeader = sessionHeader
        self.requestHeaders = requestHeaders
        self.bridge = bridge
        self.configuration = configuration
        self.writer = writer
        self.record = record
        self.channel = channel
        machine = ExchangeStateMachine(settings: .init(
            requestID: record.requestID,
            retriesContextOverflow: configuration.settings.retryOnContextOverflow,
            keepalive: configuration.settings.keepalive != nil,
            triesAgain: FallbackChain.isConfigured(configuration.settings.fallback)
        ))
    }

    /// Routes and starts the request whose whole body is `body`.
    func start(body: [UInt8]) {
        switch kind {
        case .messages, .countTokens: startMessages(body: body)
        case .passthrough: startPassthrough(body: body)
        }
    }

    // MARK: UpstreamConsumer

    func upstreamHead(status: Int, headers: [(String, String)]) {
        record.upstreamResponded(status: status)
        perform(machine.upstreamHead(status: status, headers: headers))
    }

    func upstreamBody(_ bytes: [UInt8]) {
        perform(machine.upstreamBody(bytes))
    }

    func upstreamCompleted(_ result: Result<Void, UpstreamError>) {
        perform(machine.upstreamEnd(result))
    }

    func upstreamDeliveryEnded() {
        flushIfNeeded()
    }

    // MARK: ActiveExchange

    func clientClosed() {
        perform(machine.clientClosed())
    }

    func writabilityChanged() {
        perform(machine.clientWritabilityChanged())
    }

    func cut(reason: String) {
        perform(machine.cut(reason: reason))
    }

    // MARK: Actions

    private func perform(_ action: ExchangeStateMachine.Action) {
        apply(machine.takeFacts())
        switch action {
        case .none:
            break
        case .startUpstream(let body):
            send(body)
        case .writeHead(let status, let headers, let stream, let armKeepalive):
            // Flushed at the end of this delivery: a client waiting through a long prompt sees the stream open.
            writer.head(status: status, headers: headers.map { ($0.name, $0.value) })
            unflushed = true
            if stream {
                bridge.tracker.streamStarted(record.requestID)
                record.streamStarted()
            }
            if armKeepalive { startKeepalive() }
        case .write(let bytes):
            relay(bytes)
            unflushed = true
        case .endAnswer(let last, let cancelUpstream):
            if cancelUpstream { call?.cancel() }
            stopKeepalive()
            relay(last)
            unflushed = false  // the end is written and flushed
            writer.end()
        case .respond(let answer, let cancelUpstream):
            if cancelUpstream { call?.cancel() }
            if answer.traced { record.answered(answer.body.jsonBytes) }
            unflushed = false  // the end is written and flushed
            if writer.hasStarted {
                writer.end()
            } else {
                writer.respondJSON(status: answer.status, answer.body, extraHeaders: answer.headers.map { ($0.name, $0.value) })
            }
        case .abandon(let cancelUpstream, let closeConnection):
            if cancelUpstream { call?.cancel() }
            stopKeepalive()
            writer.abandon()
            if closeConnection {
                flushIfNeeded()  // what was written goes out before the connection closes
                channel.close(promise: nil)
            }
        case .resumeUpstream:
            call?.writabilityChanged()
        case .disarmKeepalive:
            stopKeepalive()
        case .upstreamFailed(let failure, let hop):
            tryAgain(after: failure, hop: hop)
        case .relayWhole(let status, let headers, let body):
            unflushed = false  // the end is written and flushed
            writer.head(status: status, headers: headers.map { ($0.name, $0.value) })
            relay(body)
            writer.end()
        }
    }

    private func apply(_ facts: [ExchangeStateMachine.RecordFact]) {
        for fact in facts {
            switch fact {
            case .note(let text): record.note = text
            case .addedNote(let text): record.addNote(text)
            case .failed(let message): record.failed(message)
            case .upstreamError(let kind): record.upstreamError = kind
            case .usage(let usage): record.usage = usage
            case .firstToken: record.markFirstToken()
            case .streamedTokens(let count): record.streamedOutput(tokens: count)
            case .calibration(let promptTokens): calibrate(promptTokens: promptTokens)
            case .keepalivePings(let pings): record.keepalivePings = pings
            case .endedWithErrorEvent:
                if record.note == nil {
                    record.note = "stream ended with an error event"
                    record.failed("the stream ended with an error event")
                }
            case .warning(let text): bridge.logger.warning("\(record.requestID): \(text)", metadata: ["REQUEST_ID": "\(record.requestID)"])
            case .notice(let text): bridge.logger.notice("\(record.requestID): \(text)", metadata: ["REQUEST_ID": "\(record.requestID)"])
            }
        }
    }

    private func flushIfNeeded() {
        guard unflushed else { return }
        unflushed = false
        writer.flush()
    }

    /// Streamed bytes to the client (and to a trace reader of bodies).
    private func relay(_ bytes: [UInt8]) {
        record.answered(bytes)
        writer.body(bytes)
    }

    /// Sends `body` to the routed deployment, on the path's endpoint.
    private func send(_ body: [UInt8]) {
        guard let deployment else { return }
        let url: String
        var headers = [("content-type", "application/json")]
        switch kind {
        case _ where deployment.isAnthropic:
            url = AnthropicRelay.url(deployment.apiBase, countTokens: kind == .countTokens)
            let client = AnthropicRelay.ClientHeaders(requestHeaders, masterKey: configuration.masterKey?.value)
            headers = AnthropicRelay.upstreamHeaders(client: client, deployment: deployment, streams: relayStreams)
        case .messages:
            url = BackendURL.chatCompletions(deployment.apiBase)
            headers.append(("accept", machine.streams ? "text/event-stream" : "application/json"))
            sentBodyBytes = body.count
        case .countTokens:
            url = BackendURL.tokenize(deployment.apiBase)
            headers.append(("accept", "application/json"))
        case .passthrough:
            url = BackendURL.chatCompletions(deployment.apiBase)
        }
        let request = UpstreamRequest(
            method: "POST", url: url, headers: deployment.isAnthropic ? headers : BackendRequest.headers(headers, apiKey: deployment.apiKey), body: body,
            timeouts: BackendRequest.timeouts(configuration.settings.timeouts, firstByte: deployment.timeout),
            certificates: BackendRequest.certificates(deployment.tls)
        )
        record.upstreamCalls += 1
        record.routed(body: body)
        call = bridge.startUpstream(request, to: deployment, channel: channel, consumer: self)
    }

    // MARK: Routing

    /// `/v1/messages` and count_tokens: translate (``MessagesRequestTranslation``) for a deployment of
    /// the alias, fit `max_tokens` to its window, and start.
    private func startMessages(body: [UInt8]) {
        clientBody = body
        do throws(AnthropicError) {
            let routed = try translateMessages(onto: anthropicAlias(of: body))
            perform(machine.start(routed.translation, firstBody: routed.firstBody, backendUnavailable: routed.unavailable))
        } catch {
            perform(machine.refuse(.anthropic(error)))
        }
    }

    /// The alias of the body's `model` when the Anthropic API serves it (the chain starts there), so
    /// that the body is relayed rather than translated; nil for every other request, which the
    /// translation reads (and refuses, when it is not valid). Only configs with such an alias parse
    /// the body for this.
    private func anthropicAlias(of body: [UInt8]) throws(AnthropicError) -> ResolvedAlias? {
        guard configuration.aliases.hasAnthropicAliases,
              case .object(let object)? = try? JSONParser.parse(body), let model = object["model"]?.stringValue,
              let resolved = configuration.aliases.resolve(model), resolved.isAnthropic
        else { return nil }
        relayObject = object
        return try resolve(model: model)
    }

    /// The client's body translated for a deployment of `target` (nil: the alias its model resolves
    /// to), or relayed as it is when the Anthropic API serves `target`. Before any call, the request
    /// moves on to a fallback alias while the alias has no deployment that can take it (`fallbacks`)
    /// or the prompt is estimated beyond its window (`context_window_fallbacks`).
    private func translateMessages(onto target: ResolvedAlias?) throws(AnthropicError) -> (
        translation: ExchangeStateMachine.Translation, firstBody: [UInt8]?, unavailable: String?
    ) {
        let endpoint: AnthropicRequest.Endpoint = kind == .countTokens ? .countTokens : .messages
        let options = RequestTranslationOptions(
            rescuesQwenMarkup: configuration.settings.rescueQwenXML,
            fallbackMessageID: "msg_" + record.requestID.dropFirst(4),
            preservesThinking: configuration.settings.preserveThinking
        )
        var target = target
        // Each pass moves to an alias not tried yet, and the chain bounds the hops.
        while true {
            var unavailable: String?
            aliasUnavailable = false
            if let relayed = target, relayed.isAnthropic {
                if let body = try anthropicRelayBody(onto: relayed) { return (.anthropicRelay, body, nil) }
                guard let next = moveOn(after: .unavailable, hop: "drained") else {
                    throw AnthropicError(.overloaded, record.note ?? "no deployment of \(relayed.alias) can take the request")
                }
                target = next
                continue
            }
            do throws(AnthropicError) {
                var translation = try MessagesRequestTranslation.translate(body: clientBody, endpoint: endpoint, options: options) { (routing: RoutingRequest) throws(AnthropicError) in
                    let resolved: ResolvedAlias
                    if let target { resolved = target } else { resolved = try resolve(model: routing.model) }
                    let (deployment, why) = try pick(resolved, endpoint: endpoint) { headerSessionKey() ?? routing.sessionKey() }
                    unavailable = why
                    return deployment.model
                }
                session = translation.session
                var firstBody: [UInt8]?
                if endpoint == .messages, let deployment {
                    let fit = fitOutputBudget(&translation.translated, deployment: deployment)
                    firstBody = fit.body
                    if fit.promptOverWindow, let next = moveOn(after: .contextWindow, hop: "\(deployment.backendName):window", notedWhenRelayed: false) {
                        target = next
                        continue
                    }
                }
                for warning in translation.translated.warnings {
                    bridge.logger.warning("\(record.requestID): \(warning)", metadata: ["REQUEST_ID": "\(record.requestID)"])
                }
                let start: ExchangeStateMachine.Translation = endpoint == .messages ? .messages(translation.translated) : .countTokens(translation.translated)
                return (start, firstBody, unavailable)
            } catch {
                if aliasUnavailable, let next = moveOn(after: .unavailable, hop: "drained") {
                    target = next
                    continue
                }
                throw error
            }
        }
    }

    /// The client's body for a deployment of `target`, an Anthropic API alias: as sent, but for its
    /// `model`; nil when no deployment can take it (the reason is the record's note).
    private func anthropicRelayBody(onto target: ResolvedAlias) throws(AnthropicError) -> [UInt8]? {
        if relayObject.isEmpty {
            // A fallback from a translated alias: the body is read as a whole for the first time.
            guard case .object(let object)? = try? JSONParser.parse(clientBody) else {
                throw AnthropicError(.invalidRequest, "The request body is not a JSON object")
            }
            relayObject = object
        }
        record.alias = target.alias
        switch bridge.pickDeployment(alias: target.alias, from: untried(target.deployments), configuration: configuration, key: headerSessionKey) {
        case .success(let routed):
            let chosen = adopt(routed)
            relayStreams = kind == .messages && relayObject["stream"] == true
            var object = relayObject
            object["model"] = .string(chosen.model)
            return JSONValue.object(object).jsonBytes
        case .failure(let unavailable):
            record.note = unavailable.message
            return nil
        }
    }

    /// The client's model resolved to an alias; the chain of retries and fallbacks starts there.
    private func resolve(model: String) throws(AnthropicError) -> ResolvedAlias {
        record.clientModel = model
        guard let resolved = configuration.aliases.resolve(model) else {
            if bridge.unknownModels.shouldWarn(String(model.prefix(200))) {
                bridge.logger.warning(
                    "\(record.requestID): a client asked for model \(model.prefix(200)), which no model_name matches and no default_model serves: add it (or a pattern) to model_list, or set spark_bridge.default_model",
                    metadata: ["REQUEST_ID": "\(record.requestID)"]
                )
            }
            throw AnthropicError(.notFound, configuration.aliases.unknownModelMessage(model))
        }
        startChain(alias: resolved.alias, name: model)
        return resolved
    }

    private func startChain(alias: String, name: String) {
        guard chain == nil, FallbackChain.isConfigured(configuration.settings.fallback) else { return }
        chain = FallbackChain(alias: alias, name: name, settings: configuration.settings.fallback, aliases: configuration.aliases)
    }

    /// The chain's next alias after `failure` on the current one (nil: nothing left), noting the hop
    /// `name@hop` in the record (when nothing is left too, unless `notedWhenRelayed` is false: the
    /// request then goes ahead as it is). A retry resolves to the same alias, its failed deployments
    /// excluded.
    private func moveOn(after failure: FallbackChain.Failure, hop: String, notedWhenRelayed: Bool = true) -> ResolvedAlias? {
        guard var current = chain else { return nil }
        let from = current.alias
        let failedName = current.name
        let decision = current.failed(failure)
        chain = current
        if decision != .relay || notedWhenRelayed { record.hop(failedName + "@" + hop) }
        if decision != .relay {
            // The failed call is counted now; the request itself goes on, its outcome still open.
            if let kind = record.upstreamError { bridge.metrics.recordUpstreamError(kind: kind, backend: record.backend) }
            record.upstreamError = nil
            record.note = nil
        }
        switch decision {
        case .relay:
            return nil
        case .retry:
            bridge.metrics.recordFallbackHop(kind: .retry, alias: from)
            record.hopTarget = current.name
            return configuration.aliases.resolve(current.name)
        case .fallBack(_, let name):
            bridge.metrics.recordFallbackHop(kind: failure == .contextWindow ? .contextWindow : .fallback, alias: from)
            record.hopTarget = name
            failedDeployments = []
            return configuration.aliases.resolve(name)
        }
    }

    /// A call failed before the client saw any answer: route again (a retry or a fallback), translate the
    /// client's body for the new deployment and call it; or give up and answer the failure.
    private func tryAgain(after failure: FallbackChain.Failure, hop: String) {
        if let deployment { failedDeployments.append(deployment) }
        guard let next = moveOn(after: failure, hop: (deployment.map { $0.backendName + ":" } ?? "") + hop) else {
            return perform(machine.giveUp())
        }
        record.rerouting()
        switch kind {
        case .messages, .countTokens:
            do throws(AnthropicError) {
                let routed = try translateMessages(onto: next)
                perform(machine.tryAgain(routed.translation, firstBody: routed.firstBody))
            } catch {
                perform(machine.giveUp())
            }
        case .passthrough:
            guard let body = passthroughBody(onto: next) else { return perform(machine.giveUp()) }
            perform(machine.tryAgain(.passthrough, firstBody: body))
        }
    }

    /// The deployment of `resolved` to call, and why none is up when count_tokens estimates instead.
    /// Deployments that failed this request are left out while another remains.
    private func pick(_ resolved: ResolvedAlias, endpoint: AnthropicRequest.Endpoint, key: () -> SessionKey?) throws(AnthropicError) -> (Deployment, unavailable: String?) {
        record.alias = resolved.alias
        let deployment: Deployment
        var unavailable: String?
        switch bridge.pickDeployment(alias: resolved.alias, from: untried(resolved.deployments), configuration: configuration, key: key) {
        case .success(let picked):
            deployment = picked.deployment
            record.routing = picked.route
        case .failure(let failure) where endpoint == .countTokens && !resolved.deployments.isEmpty:
            // Counting needs no backend to estimate: answer with the labelled estimate.
            deployment = resolved.deployments[0]
            unavailable = failure.message
        case .failure(let failure):
            record.note = failure.message
            aliasUnavailable = true
            throw AnthropicError(.overloaded, failure.message)
        }
        record.backendModel = deployment.model
        record.backend = deployment.backendName
        self.deployment = deployment
        return (deployment, unavailable)
    }

    /// The pool a retry chooses from (``FallbackChain/pool(_:excluding:)``).
    private func untried(_ deployments: [Deployment]) -> [Deployment] {
        FallbackChain.pool(deployments, excluding: failedDeployments)
    }

    /// The routed deployment becomes the request's: the one calls go to, and the one the record names.
    @discardableResult
    private func adopt(_ routed: RoutedDeployment) -> Deployment {
        deployment = routed.deployment
        record.routing = routed.route
        record.backendModel = routed.deployment.model
        record.backend = routed.deployment.backendName
        return routed.deployment
    }

    /// The session key of the `X-Claude-Code-Session-Id` header, if the client sent a usable one.
    private func headerSessionKey() -> SessionKey? {
        sessionHeader.flatMap { SessionKey(sessionID: $0) }
    }

    /// Keeps the first call from being refused for `max_tokens` (see ``OutputBudget``): against the
    /// window the health monitor learnt from the backend's `/v1/models`, with the prompt estimated
    /// from the body's size, calibrated by what the backend counted for this session before. Returns
    /// the body as serialized for the estimate when it is left unchanged, so it is not written twice.
    private func fitOutputBudget(_ translated: inout TranslatedRequest, deployment: Deployment) -> (body: [UInt8]?, promptOverWindow: Bool) {
        let bytes = JSONValue.object(translated.body).jsonBytes
        let estimate = PromptSizeEstimate.tokens(bodyBytes: bytes.count, calibratedBy: bridge.promptSizes.sample(session: session, deployment: Self.calibrationKey(deployment)))
        translated.context.estimatedPromptTokens = estimate
        let window = bridge.health.maxModelLen(model: deployment.model, apiBase: deployment.apiBase)
        let requested = translated.body["max_tokens"]?.intValue
        let promptOverWindow = window.map { $0 > 0 && estimate > $0 } ?? false
        switch OutputBudget.decide(requested: requested, window: window, estimatedPromptTokens: estimate) {
        case .unchanged:
            return (bytes, promptOverWindow)
        case .omitted:
            translated.body["max_tokens"] = nil
            record.addNote("max_tokens \(requested ?? 0) left out: the window is \(window ?? 0)")
        case .clamped(let room):
            translated.body["max_tokens"] = .int(room)
            record.addNote("max_tokens \(requested ?? 0) clamped to \(room): window \(window ?? 0), prompt about \(estimate)")
        }
        return (nil, promptOverWindow)
    }

    private static func calibrationKey(_ deployment: Deployment) -> String {
        "\(deployment.apiBase.absoluteString) \(deployment.model)"
    }

    /// The backend counted `promptTokens` for the body last sent.
    private func calibrate(promptTokens: Int) {
        guard let deployment, sentBodyBytes > 0 else { return }
        bridge.promptSizes.record(.init(bodyBytes: sentBodyBytes, promptTokens: promptTokens), session: session, deployment: Self.calibrationKey(deployment))
    }

    /// `/v1/chat/completions`: the model name goes through the same aliases (or names a backend model
    /// directly); the body is otherwise relayed as sent.
    private func startPassthrough(body: [UInt8]) {
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            return perform(machine.refuse(.openAI(status: 400, message: "The request body is not a JSON object", type: "invalid_request_error")))
        }
        guard let model = object["model"]?.stringValue else {
            return perform(machine.refuse(.openAI(status: 400, message: "model: Field required", type: "invalid_request_error")))
        }
        passthroughObject = object
        record.clientModel = model
        var target: ResolvedAlias
        if let resolved = configuration.aliases.resolve(model) {
            if resolved.isAnthropic {
                // The Anthropic API speaks only its own Messages API: the bridge does not translate OpenAI to it.
                record.alias = resolved.alias
                let message = "The model \(model) is served by the Anthropic API, which spark-bridge relays only on /v1/messages: send this model Anthropic Messages requests"
                return perform(machine.refuse(.openAI(status: 400, message: message, type: "invalid_request_error", code: "model_not_supported")))
            }
            startChain(alias: resolved.alias, name: model)
            target = resolved
        } else if case let direct = configuration.aliases.deployments(servingBackendModel: model).filter({ !$0.isAnthropic }), !direct.isEmpty {
            // A backend model named directly: its pool, without retries or fallbacks (no alias to follow).
            target = ResolvedAlias(requestedModel: model, alias: model, match: .exact, deployments: direct)
        } else {
            let message = configuration.aliases.unknownModelMessage(model)
            return perform(machine.refuse(.openAI(status: 404, message: message, type: "invalid_request_error", code: "model_not_found")))
        }
        // Each pass moves to an alias not tried yet, and the chain bounds the hops.
        while true {
            if let routed = passthroughBody(onto: target) { return perform(machine.start(.passthrough, firstBody: routed)) }
            guard let next = moveOn(after: .unavailable, hop: "drained") else { break }
            target = next
        }
        perform(machine.refuse(.openAI(status: 503, message: record.note ?? "no backend is available", type: "server_error")))
    }

    /// The client's body for a deployment of `target`, its `model` replaced by the deployment's; nil
    /// when no deployment can take it (the reason is the record's note).
    private func passthroughBody(onto target: ResolvedAlias) -> [UInt8]? {
        var object = passthroughObject
        if target.alias != target.requestedModel || configuration.aliases.alias(named: target.alias) != nil { record.alias = target.alias }
        guard !target.isAnthropic else {
            // A fallback to an Anthropic API alias: it cannot take an OpenAI request.
            record.note = "\(target.alias) is served by the Anthropic API, which takes no OpenAI requests"
            return nil
        }
        switch bridge.pickDeployment(alias: target.alias, from: untried(target.deployments), configuration: configuration, key: headerSessionKey) {
        case .success(let routed):
            object["model"] = .string(adopt(routed).model)
            return JSONValue.object(object).jsonBytes
        case .failure(let unavailable):
            record.note = unavailable.message
            return nil
        }
    }

    // MARK: Keep-alive

    /// From the backend's 200 on, a silent stream gets `event: ping` every `keepalive_seconds` (before
    /// `message_start` too: vLLM sends nothing until the first token); ``KeepaliveClock`` decides.
    private func startKeepalive() {
        guard let interval = configuration.settings.keepalive, keepalive == nil else { return }
        let amount = TimeAmount.nanoseconds(max(1_000_000, interval.nanoseconds))
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        keepalive = channel.eventLoop.scheduleRepeatedTask(initialDelay: amount, delay: amount) { _ in
            let exchange = bound.value
            exchange.perform(exchange.machine.keepaliveTick(clientWritable: exchange.channel.isWritable))
            exchange.flushIfNeeded()
        }
    }

    private func stopKeepalive() {
        keepalive?.cancel()
        keepalive = nil
    }
}
