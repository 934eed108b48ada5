// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import BridgeJSON
import BridgeUpstream
import Foundation
import Logging
import NIOCore

/// One `/v1/messages` or `/v1/messages/count_tokens` request: validate, resolve the alias, translate,
/// call the backend, and translate its answer back — relayed event by event when streaming.
final class MessagesExchange: UpstreamConsumer, ActiveExchange {
    private enum Phase {
        case preparing
        /// Waiting for the backend's status.
        case awaitingHead
        /// Streaming a 200 answer to the client.
        case streaming(SSEDecoder, StreamTranslator)
        /// Collecting a whole answer (or an error body) with this status.
        case collecting(status: Int, body: [UInt8])
        case done
    }

    /// Largest whole answer or error body read from a backend.
    static let maximumCollectedBytes = 64 << 20

    private let bridge: BridgeContext
    private let configuration: BridgeConfiguration
    private let writer: ResponseWriter
    private let record: RequestRecord
    private let channel: any Channel
    private let endpoint: AnthropicRequest.Endpoint
    private var phase = Phase.preparing
    private var call: UpstreamCall?
    private var deployment: Deployment?
    private var translated: TranslatedRequest?
    private var retriedWithSmallerMaxTokens = false
    /// Claude Code's session id (from `metadata.user_id`), which keys the prompt-size calibration.
    private var session: String?
    /// Bytes of the completion body last sent, for the prompt-size calibration.
    private var sentBodyBytes = 0
    /// The completion body as serialized to estimate its prompt, when the estimate left it unchanged:
    /// the first call sends these bytes instead of serializing again.
    private var serializedBody: [UInt8]?
    /// Sends `event: ping` while a stream is silent (``BridgeSettings/keepalive``).
    private var keepalive: RepeatedTask?
    /// The prompt size `message_start` reported, until it has calibrated the estimate.
    private var startPromptTokens: Int?
    /// Whether a tick of the keep-alive timer sends a ping.
    private var keepaliveClock = KeepaliveClock()

    init(bridge: BridgeContext, configuration: BridgeConfiguration, writer: ResponseWriter, record: RequestRecord, channel: any Channel, endpoint: AnthropicRequest.Endpoint) {
        self.bridge = bridge
        self.configuration = configuration
        self.writer = writer
        self.record = record
        self.channel = channel
        self.endpoint = endpoint
    }

    func start(body: [UInt8]) {
        do throws(AnthropicError) {
            let json: JSONValue
            do {
                json = try JSONParser.parse(body)
            } catch {
                throw AnthropicError(.invalidRequest, "The request body is not valid JSON: \(error)")
            }
            let request = try AnthropicRequest(json: json, endpoint: endpoint)
            record.clientModel = request.model
            guard let resolved = configuration.aliases.resolve(request.model) else {
                if bridge.unknownModels.shouldWarn(String(request.model.prefix(200))) {
                    bridge.logger.warning(
                        "\(record.requestID): a client asked for model \(request.model.prefix(200)), which no model_name matches and no default_model serves: add it (or a pattern) to model_list, or set spark_bridge.default_model",
                        metadata: ["REQUEST_ID": "\(record.requestID)"]
                    )
                }
                throw AnthropicError(.notFound, configuration.aliases.unknownModelMessage(request.model))
            }
            record.alias = resolved.alias
            let deployment: Deployment
            var unavailable: String?
            switch bridge.pickDeployment(alias: resolved.alias, from: resolved.deployments) {
            case .success(let picked):
                deployment = picked
            case .failure(let failure) where endpoint == .countTokens && !resolved.deployments.isEmpty:
                // Counting needs no backend to estimate: answer with the labelled estimate.
                deployment = resolved.deployments[0]
                unavailable = failure.message
            case .failure(let failure):
                record.note = failure.message
                throw AnthropicError(.overloaded, failure.message)
            }
            record.backendModel = deployment.model
            record.backend = deployment.backendName
            self.deployment = deployment
            let options = RequestTranslationOptions(
                rescuesQwenMarkup: configuration.settings.rescueQwenXML,
                fallbackMessageID: "msg_" + record.requestID.dropFirst(4),
                preservesThinking: configuration.settings.preserveThinking
            )
            var translated = try RequestTranslator.translate(request, options: options) { (_: String) throws(AnthropicError) in deployment.model }
            session = ClientSession.id(in: json)
            if endpoint == .messages { fitOutputBudget(&translated, deployment: deployment) }
            for warning in translated.warnings {
                bridge.logger.warning("\(record.requestID): \(warning)", metadata: ["REQUEST_ID": "\(record.requestID)"])
            }
            self.translated = translated
            if let unavailable {
                respondWithEstimate(reason: unavailable)
                return
            }
            send()
        } catch {
            finish(with: error)
        }
    }

    private func send() {
        guard let deployment, let translated else { return }
        let streams = endpoint == .messages && translated.body["stream"] == true
        let headers = BackendRequest.headers([("content-type", "application/json"), ("accept", streams ? "text/event-stream" : "application/json")], apiKey: deployment.apiKey)
        let url: String
        let body: [UInt8]
        switch endpoint {
        case .messages:
            url = BackendURL.chatCompletions(deployment.apiBase)
            body = serializedBody ?? JSONValue.object(translated.body).jsonBytes
            serializedBody = nil
            sentBodyBytes = body.count
        case .countTokens:
            url = BackendURL.tokenize(deployment.apiBase)
            body = translated.tokenizeBody.jsonBytes
        }
        let request = UpstreamRequest(
            method: "POST", url: url, headers: headers, body: body,
            timeouts: BackendRequest.timeouts(configuration.settings.timeouts, firstByte: deployment.timeout)
        )
        phase = .awaitingHead
        record.upstreamCalls += 1
        record.routed(body: body)
        call = bridge.startUpstream(request, to: deployment, channel: channel, consumer: self)
    }

    /// Keeps the first call from being refused for `max_tokens` (see ``OutputBudget``): against the
    /// window the health monitor learnt from the backend's `/v1/models`, with the prompt estimated
    /// from the body's size, calibrated by what the backend counted for this session before.
    private func fitOutputBudget(_ translated: inout TranslatedRequest, deployment: Deployment) {
        let bytes = JSONValue.object(translated.body).jsonBytes
        let estimate = PromptSizeEstimate.tokens(bodyBytes: bytes.count, calibratedBy: bridge.promptSizes.sample(session: session, deployment: Self.calibrationKey(deployment)))
        translated.context.estimatedPromptTokens = estimate
        let window = bridge.health.maxModelLen(model: deployment.model, apiBase: deployment.apiBase)
        let requested = translated.body["max_tokens"]?.intValue
        switch OutputBudget.decide(requested: requested, window: window, estimatedPromptTokens: estimate) {
        case .unchanged:
            serializedBody = bytes
        case .omitted:
            translated.body["max_tokens"] = nil
            record.addNote("max_tokens \(requested ?? 0) left out: the window is \(window ?? 0)")
        case .clamped(let room):
            translated.body["max_tokens"] = .int(room)
            record.addNote("max_tokens \(requested ?? 0) clamped to \(room): window \(window ?? 0), prompt about \(estimate)")
        }
    }

    private static func calibrationKey(_ deployment: Deployment) -> String {
        "\(deployment.apiBase.absoluteString) \(deployment.model)"
    }

    /// The backend counted `promptTokens` for the body last sent.
    private func calibrate(promptTokens: Int) {
        guard let deployment, sentBodyBytes > 0 else { return }
        bridge.promptSizes.record(.init(bodyBytes: sentBodyBytes, promptTokens: promptTokens), session: session, deployment: Self.calibrationKey(deployment))
    }

    // MARK: UpstreamConsumer

    func upstreamHead(status: Int, headers: [(String, String)]) {
        guard case .awaitingHead = phase, let translated else { return }
        record.upstreamResponded(status: status)
        if status == 200, endpoint == .messages, translated.body["stream"] == true {
            writer.head(status: 200, headers: [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("cache-control", "no-cache"),
            ])
            // Headers go out now: a client waiting through a long prompt sees the stream open.
            writer.flush()
            phase = .streaming(SSEDecoder(), StreamTranslator(context: translated.context))
            bridge.tracker.streamStarted(record.requestID)
            startKeepalive()
            record.streamStarted()
        } else {
            phase = .collecting(status: status, body: [])
        }
    }

    func upstreamBody(_ bytes: [UInt8]) {
        switch phase {
        case .streaming(var decoder, var translator):
            // The phase gives up its copy while the state is mutated, so the decoder's buffer and the
            // translator's state are changed in place instead of copied on every chunk; it gets them back
            // before anything is written (a write can call back into this exchange).
            phase = .preparing
            var output: [UInt8] = []
            do {
                for payload in try decoder.feed(bytes) {
                    write(translator.consume(UpstreamStreamItem(data: payload)), into: &output)
                }
            } catch {
                // A line or event past the decoder's bound: a backend protocol fault, not something to buffer.
                write(translator.abort(with: failure(AnthropicError(.api, "The backend sent a stream event larger than \(decoder.maximumEventLength) bytes"))), into: &output)
            }
            phase = .streaming(decoder, translator)
            if let prompt = startPromptTokens, translator.startUsageSource == .backend {
                startPromptTokens = nil
                calibrate(promptTokens: prompt)
            }
            if !output.isEmpty { keepaliveClock.wrote() }
            relay(output)
            writer.flush()
            if translator.isFinished { endStream(translator) }
        case .collecting(let status, var body):
            phase = .preparing  // as above: append in place
            if body.count + bytes.count > Self.maximumCollectedBytes {
                call?.cancel()
                finish(with: AnthropicError(.api, "The backend's answer exceeds \(Self.maximumCollectedBytes) bytes"))
                return
            }
            body.append(contentsOf: bytes)
            phase = .collecting(status: status, body: body)
        default:
            break
        }
    }

    func upstreamCompleted(_ result: Result<Void, UpstreamError>) {
        switch (phase, result) {
        case (.done, _):
            return
        case (_, .failure(.cancelled)):
            phase = .done
            writer.abandon()
        case (.streaming(var decoder, var translator), .success):
            var output: [UInt8] = []
            if let last = decoder.finish() { write(translator.consume(UpstreamStreamItem(data: last)), into: &output) }
            write(translator.endOfStream(), into: &output)
            relay(output)
            endStream(translator)
        case (.streaming, .failure(.consumerStalled)):
            // The client read nothing for `paused_stream_seconds`: an error event would only wait behind
            // what it has not read. Close its connection; the backend request is already cancelled.
            phase = .done
            record.note = "cut: \(UpstreamError.consumerStalled)"
            writer.abandon()
            channel.close(promise: nil)
        case (.streaming(_, var translator), .failure(let error)):
            var output: [UInt8] = []
            write(translator.abort(with: failure(UpstreamErrorMapper.unreachable(error.description))), into: &output)
            relay(output)
            record.note = "upstream: \(error)"
            record.upstreamError = error.metricKind
            endStream(translator)
        case (.collecting(let status, let body), .success):
            complete(status: status, body: body)
        case (_, .failure(let error)):
            record.note = "upstream: \(error)"
            record.upstreamError = error.metricKind
            if endpoint == .countTokens {
                respondWithEstimate(reason: "the backend could not be reached: \(error)")
            } else {
                finish(with: UpstreamErrorMapper.unreachable(error.description))
            }
        case (_, .success):
            finish(with: AnthropicError(.api, "The backend closed the connection without an answer"))
        }
    }

    // MARK: ActiveExchange

    func clientClosed() {
        stopKeepalive()
        call?.cancel()
        if case .done = phase { return }
        phase = .done
        record.note = "client disconnected"
        writer.abandon()
    }

    func writabilityChanged() {
        call?.writabilityChanged()
    }

    func cut(reason: String) {
        call?.cancel()
        let error = AnthropicError(.overloaded, "The request was cut short: \(reason)")
        record.note = "cut: \(reason)"
        switch phase {
        case .done:
            return
        case .streaming(_, var translator):
            stopKeepalive()
            var output: [UInt8] = []
            write(translator.abort(with: failure(error)), into: &output)
            relay(output)
            endStream(translator)
        default:
            phase = .done
            record.failed(error.description)
            writer.respond(error: error, extraHeaders: [("x-should-retry", "true")])
        }
    }

    // MARK: Private

    private func write(_ events: [AnthropicStreamEvent], into output: inout [UInt8]) {
        var deltas = 0
        for event in events {
            switch event {
            case .contentBlockDelta:
                record.markFirstToken()
                deltas += 1
            case .messageStart(let message):
                startPromptTokens = message.usage.inputTokens + message.usage.cacheReadInputTokens
            default: break
            }
            event.writeSSE(into: &output)
        }
        // vLLM streams a token per chunk, so a delta stands for a token until the usage tells.
        record.streamedOutput(tokens: deltas)
    }

    /// Streamed bytes to the client (and to a trace reader of bodies).
    private func relay(_ output: [UInt8]) {
        record.answered(output)
        writer.body(output)
    }

    /// `error`, reported to the trace as the reason this request failed.
    private func failure(_ error: AnthropicError) -> AnthropicError {
        record.failed(error.description)
        return error
    }

    // MARK: Keep-alive

    /// From the backend's 200 on, a silent stream gets `event: ping` every `keepalive_seconds` (before
    /// `message_start` too: vLLM sends nothing until the first token); ``KeepaliveClock`` decides.
    private func startKeepalive() {
        guard let interval = configuration.settings.keepalive, keepalive == nil else { return }
        let amount = TimeAmount.nanoseconds(max(1_000_000, interval.nanoseconds))
        let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        keepalive = channel.eventLoop.scheduleRepeatedTask(initialDelay: amount, delay: amount) { _ in
            bound.value.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        guard case .streaming = phase else { return stopKeepalive() }
        guard keepaliveClock.tick(clientWritable: channel.isWritable) else { return }
        var output: [UInt8] = []
        AnthropicStreamEvent.ping.writeSSE(into: &output)
        record.keepalivePings = keepaliveClock.pings
        writer.body(output)
        writer.flush()
    }

    private func stopKeepalive() {
        keepalive?.cancel()
        keepalive = nil
    }

    private func endStream(_ translator: StreamTranslator) {
        phase = .done
        // A stream the translation failed (oversized event, bad chunk) is over for the client: stop
        // reading the backend too, so it frees the slot instead of generating for no one.
        if translator.failed { call?.cancel() }
        stopKeepalive()
        record.usage = translator.finalUsage
        if translator.startUsageSource != .backend, let usage = translator.finalUsage {
            // A backend without continuous usage reported the prompt at the end: later estimates use it.
            calibrate(promptTokens: usage.inputTokens + usage.cacheReadInputTokens)
        }
        if translator.startUsageSource == .estimate {
            record.addNote("message_start usage estimated: the backend reported no prompt size in its first chunk")
        }
        if translator.failed, record.note == nil {
            record.note = "stream ended with an error event"
            record.failed("the stream ended with an error event")
        }
        writer.end()
    }

    private func complete(status: Int, body: [UInt8]) {
        guard let translated else { return }
        guard status == 200 else {
            if endpoint == .countTokens {
                respondWithEstimate(reason: "the backend answered HTTP \(status) to /tokenize")
                return
            }
            let error = UpstreamErrorMapper.map(status: status, body: body, context: translated.context)
            if retryWithSmallerMaxTokens(status: status, body: body) { return }
            record.addNote("backend HTTP \(status)")
            record.upstreamError = UpstreamError.metricKind(httpStatus: status)
            finish(with: error)
            return
        }
        switch endpoint {
        case .countTokens:
            guard let number = (try? JSONParser.parse(body))?["count"], number.doubleValue != nil else {
                respondWithEstimate(reason: "the backend's /tokenize answer has no count")
                return
            }
            // The backend's number: clamped like every token count it sends (usage totals and
            // metrics counters add it up).
            let count = ChatCompletionChunk.Usage.tokens(number)
            phase = .done
            record.usage = AnthropicUsage(inputTokens: count)
            writer.respondJSON(["input_tokens": .int(count)])
        case .messages:
            do throws(AnthropicError) {
                let json: JSONValue
                do { json = try JSONParser.parse(body) } catch { throw AnthropicError(.api, "The backend's answer is not valid JSON") }
                let message = try ResponseTranslator.translate(json, context: translated.context)
                record.usage = message.usage
                calibrate(promptTokens: message.usage.inputTokens + message.usage.cacheReadInputTokens)
                record.markFirstToken()
                phase = .done
                record.answered(message.json.jsonBytes)
                writer.respondJSON(message.json)
            } catch {
                finish(with: error)
            }
        }
    }

    /// vLLM refuses `prompt + max_tokens > max_model_len` (Claude Code asks for 32000): when the prompt
    /// itself fits, ask again once with the `max_tokens` that fits.
    private func retryWithSmallerMaxTokens(status: Int, body: [UInt8]) -> Bool {
        guard endpoint == .messages, status == 400, !retriedWithSmallerMaxTokens, configuration.settings.retryOnContextOverflow,
              let message = UpstreamErrorMapper.errorMessage(in: body),
              let overflow = ContextLengthOverflow(message: message),
              let fit = overflow.maxTokensThatFit, fit >= 1,
              var translated, let asked = translated.body["max_tokens"]?.intValue, fit < asked
        else { return false }
        retriedWithSmallerMaxTokens = true
        translated.body["max_tokens"] = .int(fit)
        self.translated = translated
        record.addNote("max_tokens lowered from \(asked) to \(fit) to fit the context")
        bridge.logger.notice("\(record.requestID): max_tokens \(asked) does not fit next to the prompt; retrying with \(fit)", metadata: ["REQUEST_ID": "\(record.requestID)"])
        send()
        return true
    }

    /// count_tokens when the backend cannot tokenize: an estimate (4 bytes a token), labelled as such
    /// in the `x-spark-bridge-token-count: estimate` header and the log.
    private func respondWithEstimate(reason: String) {
        guard let translated else { return }
        let bytes = translated.tokenizeBody.jsonBytes.count
        let estimate = max(1, bytes / 4)
        phase = .done
        record.note = "token count estimated: \(reason)"
        bridge.logger.warning("\(record.requestID): count_tokens estimated (\(reason))", metadata: ["REQUEST_ID": "\(record.requestID)"])
        writer.respondJSON(["input_tokens": .int(estimate)], extraHeaders: [("x-spark-bridge-token-count", "estimate")])
    }

    private func finish(with error: AnthropicError) {
        if case .done = phase { return }
        phase = .done
        record.failed(error.description)
        if writer.hasStarted {
            writer.end()
        } else {
            writer.respond(error: error)
        }
    }
}
