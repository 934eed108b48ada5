// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import BridgeUpstream

/// One client request answered by a backend — `/v1/messages`, count_tokens or the OpenAI passthrough —
/// as a value: events in (the upstream's head, bytes and end, the client gone or writable, a keep-alive
/// tick, a cut), one ``Action`` out, which ``Exchange`` performs on the connection and the upstream call.
/// What the request log should learn on the way (notes, usage, first token…) is kept as ``RecordFact``s
/// the glue takes after each event. No I/O, no clock: every transition is a unit test.
///
/// With retries or fallbacks configured, a call that fails before any answer reached the client (no
/// answer, or an error status another call may cure) ends in ``Action/upstreamFailed(_:hop:)``: the glue
/// asks ``FallbackChain`` and answers with ``tryAgain(_:firstBody:)`` (another deployment, the request
/// translated for it) or ``giveUp()`` (the failure answered as without retries). A translated stream's
/// head and pings carry no answer: a call that fails before the answer's first event (`message_start`)
/// is made again behind them, and the new call's events continue the same stream (no second head; an
/// error status it answers with, given up, is an `error` event). Once any answer event was written,
/// or on the passthrough and the Anthropic relay once their head was written, nothing is tried again.
///
/// The paused-stream timeout arrives as the upstream ending with ``UpstreamError/consumerStalled`` and
/// the transport's own timeouts as other upstream errors; the request deadline, a drain and a shutdown
/// all arrive as ``cut(reason:)``.
struct ExchangeStateMachine {
    /// What the exchange does with the request and the answer: the one difference between the paths.
    enum Translation {
        /// `/v1/messages`: the translated request; a 200 stream is translated batch by batch into
        /// Anthropic events, any other answer collected and translated whole.
        case messages(TranslatedRequest)
        /// `/v1/messages/count_tokens`: vLLM's `/tokenize` count, or an estimate when it cannot count.
        case countTokens(TranslatedRequest)
        /// `/v1/chat/completions`: the backend's answer relayed byte for byte.
        case passthrough
        /// `/v1/messages` or count_tokens to an Anthropic API deployment: its answer relayed byte for
        /// byte (errors included), with the usage read on the way for the log.
        case anthropicRelay
    }

    /// A request refused before any backend was asked, in the shape of its API.
    enum Refusal: Equatable {
        case anthropic(AnthropicError)
        case openAI(status: Int, message: String, type: String, code: String? = nil)
    }

    /// One header of an answer.
    struct Header: Equatable {
        var name: String
        var value: String
    }

    /// A whole answer: head, body and end in one go.
    struct WholeAnswer: Equatable {
        var status: Int
        var body: JSONValue
        var headers: [Header] = []
        /// The body is the answer proper (not an error or a count), which a trace of bodies shows.
        var traced = false
    }

    /// What the glue does after an event.
    enum Action: Equatable {
        /// Nothing: the event changed nothing outside the machine, or came after the end.
        case none
        /// Send this body to the backend (the first call, or the one retry with a smaller `max_tokens`).
        case startUpstream(body: [UInt8])
        /// Write the head of an answer whose body follows in parts. `stream`: an SSE stream, counted as
        /// one; `armKeepalive`: start the `ping` timer.
        case writeHead(status: Int, headers: [Header], stream: Bool, armKeepalive: Bool)
        /// Write one delivered batch (or a ping): one write per batch, never per event. The glue flushes
        /// once per upstream delivery (head, bytes and end that arrived together share one flush).
        case write([UInt8])
        /// Write the last bytes, end the answer and stop the keep-alive; cancel the upstream call first
        /// when it may still run (a failed translation, a cut).
        case endAnswer(last: [UInt8], cancelUpstream: Bool)
        /// Answer whole; cancel the upstream call first when it may still run.
        case respond(WholeAnswer, cancelUpstream: Bool)
        /// The answer cannot be finished: account for it as it stands and stop the keep-alive; cancel
        /// the upstream call and close the connection as told.
        case abandon(cancelUpstream: Bool, closeConnection: Bool)
        /// The client can take bytes again: resume a transfer paused for it.
        case resumeUpstream
        /// The stream is over: the keep-alive timer has nothing left to do.
        case disarmKeepalive
        /// The call failed before any answer reached the client (at most a translated stream's head and
        /// pings), in a way another call may cure: the glue decides (``FallbackChain``) and answers with
        /// ``tryAgain(_:firstBody:)`` or ``giveUp()``.
        case upstreamFailed(FallbackChain.Failure, hop: String)
        /// Answer with a backend's whole answer as it came (the passthrough's error after no retry).
        case relayWhole(status: Int, headers: [Header], body: [UInt8])
    }

    /// What the request record and the log learn from an event, in order.
    enum RecordFact: Equatable {
        /// Replaces the request's note (why it ended as it did).
        case note(String)
        /// Adds to the request's note.
        case addedNote(String)
        /// The request failed with this message (for the trace).
        case failed(String)
        /// The kind of upstream error for the metrics (nil: none to count).
        case upstreamError(kind: String?)
        case usage(AnthropicUsage?)
        /// The first token went (or is going) to the client.
        case firstToken
        /// Content deltas streamed in the last batch (a delta stands for a token until the usage tells).
        case streamedTokens(Int)
        /// The backend counted this many prompt tokens for the body last sent.
        case calibration(promptTokens: Int)
        /// Keep-alive pings sent so far.
        case keepalivePings(Int)
        /// The stream ended with an `error` event: when no note says why yet, the request is noted and
        /// failed as such.
        case endedWithErrorEvent
        /// A line for the log at warning level.
        case warning(String)
        /// A line for the log at notice level.
        case notice(String)
    }

    /// Limits and switches from the configuration.
    struct Settings {
        var requestID: String
        /// Largest whole answer or error body read from a backend.
        var maximumCollectedBytes = 64 << 20
        /// `retry_on_context_overflow`: one retry with the `max_tokens` a refusal says fits.
        var retriesContextOverflow = true
        /// `keepalive_seconds` is set: a stream gets pings while silent.
        var keepalive = true
        /// Retries or fallbacks are configured: a call that fails before the client saw any answer (a
        /// translated stream's head and pings are none), in a way another call may cure, ends in
        /// ``Action/upstreamFailed(_:hop:)`` instead of the error.
        var triesAgain = false
    }

    private enum State {
        /// Not started.
        case idle
        /// The upstream call is made; its status has not come.
        case awaitingHead
        /// A 200 stream of an Anthropic request, translated as it comes.
        case translatingStream(SSEDecoder, StreamTranslator)
        /// The passthrough's answer, relayed as it comes; its head is written.
        case relaying
        /// A whole answer (or error body) with this status, translated once it is all read.
        case collecting(status: Int, body: [UInt8])
        /// The call failed before the client saw any answer (at most a stream's head and pings); the glue
        /// is deciding (``Action/upstreamFailed(_:hop:)``).
        case failedBeforeClient(PendingFailure)
        /// Answered, abandoned or cut: later events change nothing.
        case finished
        /// Only while an event mutates a payload in place (never seen between events).
        case modifying
    }

    /// The failure the client gets when nothing else is tried.
    private enum PendingFailure {
        /// No answer came.
        case unreachable(UpstreamError)
        /// An error answer, read whole.
        case answer(status: Int, body: [UInt8])
        /// A translated stream ended cleanly before any event of the answer.
        case closedWithoutAnswer
    }

    private let settings: Settings
    /// Cleared once the glue gave up: the failure is then answered as it stands.
    private var triesAgain: Bool
    /// The passthrough's answer headers, kept while its error answer is read whole.
    private var heldHeaders: [Header] = []
    private var translation: Translation = .passthrough
    private var state = State.idle
    private var retried = false
    /// The translated stream's head is written: a call made again continues the stream behind it, and
    /// an error is an `error` event.
    private var streamHeadWritten = false
    private var keepaliveClock = KeepaliveClock()
    /// The prompt size `message_start` reported, until it has calibrated the estimate.
    private var startPromptTokens: Int?
    /// The usage of a relayed Anthropic answer, read as it passes.
    private var relayedUsage: RelayedUsageReader?
    private var facts: [RecordFact] = []

    init(settings: Settings) {
        self.settings = settings
        triesAgain = settings.triesAgain
    }

    /// Whether the answer is over for this machine (answered, abandoned or cut).
    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Whether the backend is asked for a stream (a `/v1/messages` request with `stream: true`).
    var streams: Bool {
        if case .messages(let translated) = translation { return translated.body["stream"] == true }
        return false
    }

    /// The facts recorded since the last call, in order.
    mutating func takeFacts() -> [RecordFact] {
        defer { facts = [] }
        return facts
    }

    // MARK: Start

    /// A valid request, routed: `firstBody` is its upstream body when already serialized.
    /// `backendUnavailable` (count_tokens only): no backend can count, answer with the estimate.
    mutating func start(_ translation: Translation, firstBody: [UInt8]? = nil, backendUnavailable: String? = nil) -> Action {
        guard case .idle = state else { preconditionFailure("an exchange starts once") }
        self.translation = translation
        if let backendUnavailable, case .countTokens(let translated) = translation {
            return estimateCount(translated, reason: backendUnavailable)
        }
        state = .awaitingHead
        return .startUpstream(body: firstBody ?? Self.upstreamBody(translation))
    }

    /// A request refused before any backend was asked (invalid, unknown model, no backend up).
    mutating func refuse(_ refusal: Refusal) -> Action {
        guard case .idle = state else { preconditionFailure("a refusal comes instead of the start") }
        state = .finished
        switch refusal {
        case .anthropic(let error):
            facts.append(.failed(error.description))
            return .respond(answer(error), cancelUpstream: false)
        case .openAI(let status, let message, let type, let code):
            facts.append(.failed("\(type): \(message)"))
            return .respond(WholeAnswer(status: status, body: OpenAIErrorBody(message: message, type: type, code: code).json), cancelUpstream: false)
        }
    }

    // MARK: Upstream events

    /// The backend's status line and headers (at most once per call).
    mutating func upstreamHead(status: Int, headers: [(String, String)]) -> Action {
        guard case .awaitingHead = state else { return .none }  // a cut or a client gone came first
        switch translation {
        case .passthrough:
            let relayed = headers.filter { ["content-type", "cache-control"].contains($0.0.lowercased()) }.map { Header(name: $0.0, value: $0.1) }
            if triesAgain, status == 400 || FallbackChain.isTransient(status: status) {
                // Read whole before anything is written: another call may answer instead.
                heldHeaders = relayed
                state = .collecting(status: status, body: [])
                return .none
            }
            state = .relaying
            if status != 200 {
                facts.append(.note("backend HTTP \(status)"))
                facts.append(.upstreamError(kind: UpstreamError.metricKind(httpStatus: status)))
            }
            let streams = status == 200 && relayed.contains { $0.value.hasPrefix("text/event-stream") }
            return .writeHead(status: status, headers: relayed, stream: streams, armKeepalive: false)
        case .anthropicRelay:
            // Relayed as the API sent it: no pings of ours (the API sends its own) and no translation.
            let relayed = headers.filter { AnthropicRelay.relaysResponseHeader($0.0) }.map { Header(name: $0.0, value: $0.1) }
            if triesAgain, FallbackChain.isTransient(status: status) {
                // Read whole before anything is written: another call may answer instead.
                heldHeaders = relayed
                state = .collecting(status: status, body: [])
                return .none
            }
            state = .relaying
            let eventStream = relayed.contains { $0.name.lowercased() == "content-type" && $0.value.hasPrefix("text/event-stream") }
            relayedUsage = RelayedUsageReader(streams: eventStream)
            if status != 200 {
                facts.append(.note("Anthropic API HTTP \(status)"))
                facts.append(.upstreamError(kind: UpstreamError.metricKind(httpStatus: status)))
            }
            if let id = relayed.first(where: { $0.name.lowercased() == "request-id" })?.value {
                facts.append(.addedNote("Anthropic request-id \(id.prefix(100))"))
            }
            return .writeHead(status: status, headers: relayed, stream: status == 200 && eventStream, armKeepalive: false)
        case .messages(let translated) where status == 200 && translated.body["stream"] == true:
            state = .translatingStream(SSEDecoder(), StreamTranslator(context: translated.context))
            // A call made again behind the head and pings: its events continue the same stream.
            if streamHeadWritten { return .none }
            streamHeadWritten = true
            // Headers go out now: a client waiting through a long prompt sees the stream open.
            return .writeHead(status: 200, headers: Self.streamHeaders, stream: true, armKeepalive: settings.keepalive)
        case .messages, .countTokens:
            state = .collecting(status: status, body: [])
            return .none
        }
    }

    /// Body bytes, in order: one delivered batch.
    mutating func upstreamBody(_ bytes: [UInt8]) -> Action {
        switch state {
        case .translatingStream(var decoder, var translator):
            // The state gives up its copy while the decoder and translator change in place.
            state = .modifying
            var output: [UInt8] = []
            var deltas = 0
            do {
                for payload in try decoder.feed(bytes) {
                    write(translator.consume(UpstreamStreamItem(data: payload)), into: &output, deltas: &deltas)
                }
            } catch {
                // A line or event past the decoder's bound: a backend protocol fault, not something to buffer.
                let error = failure(AnthropicError(.api, "The backend sent a stream event larger than \(decoder.maximumEventLength) bytes"))
                write(translator.abort(with: error), into: &output, deltas: &deltas)
            }
            streamed(deltas: deltas)
            if let prompt = startPromptTokens, translator.startUsageSource == .backend {
                startPromptTokens = nil
                facts.append(.calibration(promptTokens: prompt))
            }
            if !output.isEmpty { keepaliveClock.wrote() }
            if translator.isFinished { return endStream(translator, last: output) }
            state = .translatingStream(decoder, translator)
            return .write(output)
        case .relaying:
            facts.append(.firstToken)
            relayedUsage?.feed(bytes)
            return .write(bytes)
        case .collecting(let status, var body):
            state = .modifying
            guard body.count <= settings.maximumCollectedBytes - bytes.count else {
                return finish(with: AnthropicError(.api, "The backend's answer exceeds \(settings.maximumCollectedBytes) bytes"), cancelUpstream: true)
            }
            body.append(contentsOf: bytes)
            state = .collecting(status: status, body: body)
            return .none
        case .finished:
            return .none  // bytes still queued when the answer ended
        case .idle, .awaitingHead, .modifying, .failedBeforeClient:
            // The transport delivers the head before any byte; nothing to do with bytes of no answer.
            return .none
        }
    }

    /// The upstream call ended (exactly once per call).
    mutating func upstreamEnd(_ result: Result<Void, UpstreamError>) -> Action {
        switch (state, result) {
        case (.finished, _), (.modifying, _), (.idle, _), (.failedBeforeClient, _):
            return .none
        case (_, .failure(.cancelled)):
            state = .finished
            return .abandon(cancelUpstream: false, closeConnection: false)
        case (.translatingStream(var decoder, var translator), .success):
            state = .modifying
            var output: [UInt8] = []
            var deltas = 0
            if let last = decoder.finish() { write(translator.consume(UpstreamStreamItem(data: last)), into: &output, deltas: &deltas) }
            if triesAgain, !translator.hasStarted {
                // Closed before the answer's first event: the client has seen the head and pings only.
                facts.append(.note("upstream: the connection closed before the answer began"))
                facts.append(.upstreamError(kind: "closed"))
                state = .failedBeforeClient(.closedWithoutAnswer)
                return .upstreamFailed(.transient, hop: "closed")
            }
            write(translator.endOfStream(), into: &output, deltas: &deltas)
            streamed(deltas: deltas)
            return endStream(translator, last: output)
        case (.translatingStream, .failure(.consumerStalled)):
            // The client read nothing for `paused_stream_seconds`: an error event would only wait behind
            // what it has not read. Close its connection; the backend request is already cancelled.
            state = .finished
            facts.append(.note("cut: \(UpstreamError.consumerStalled)"))
            return .abandon(cancelUpstream: false, closeConnection: true)
        case (.translatingStream(_, let translator), .failure(let error)) where !translator.hasStarted && callsAgain(after: error):
            // Failed behind the head and pings, before the answer's first event: another call may answer.
            facts.append(.note("upstream: \(error)"))
            facts.append(.upstreamError(kind: error.metricKind))
            state = .failedBeforeClient(.unreachable(error))
            return .upstreamFailed(.transient, hop: error.metricKind ?? "error")
        case (.translatingStream(_, var translator), .failure(let error)):
            state = .modifying
            var output: [UInt8] = []
            var deltas = 0
            write(translator.abort(with: failure(UpstreamErrorMapper.unreachable(error.description))), into: &output, deltas: &deltas)
            facts.append(.note("upstream: \(error)"))
            facts.append(.upstreamError(kind: error.metricKind))
            return endStream(translator, last: output)
        case (.relaying, .success):
            state = .finished
            if var reader = relayedUsage {
                relayedUsage = nil
                facts.append(.usage(reader.finish()))
            }
            return .endAnswer(last: [], cancelUpstream: false)
        case (.relaying, .failure(let error)):
            // Mid-body there is no way to signal an error in a relayed answer (OpenAI's stream has none,
            // and an event of ours could land inside one of the API's): close the connection.
            state = .finished
            facts.append(.note("upstream: \(error)"))
            facts.append(.upstreamError(kind: error.metricKind))
            return .abandon(cancelUpstream: false, closeConnection: true)
        case (.collecting(let status, let body), .success):
            state = .modifying
            return complete(status: status, body: body)
        case (.awaitingHead, .success):
            // The transport always delivers a head before success; a backend that closed early lands here.
            return finish(with: AnthropicError(.api, "The backend closed the connection without an answer"), cancelUpstream: false)
        case (.awaitingHead, .failure(let error)), (.collecting, .failure(let error)):
            facts.append(.note("upstream: \(error)"))
            facts.append(.upstreamError(kind: error.metricKind))
            if callsAgain(after: error) {
                // Nothing reached the client: another deployment may answer.
                state = .failedBeforeClient(.unreachable(error))
                return .upstreamFailed(.transient, hop: error.metricKind ?? "error")
            }
            return unreachable(error)
        }
    }

    /// No answer came from the backend and nothing else is tried.
    private mutating func unreachable(_ error: UpstreamError) -> Action {
        switch translation {
        case .countTokens(let translated):
            return estimateCount(translated, reason: "the backend could not be reached: \(error)")
        case .messages:
            return finish(with: UpstreamErrorMapper.unreachable(error.description), cancelUpstream: false)
        case .passthrough:
            state = .finished
            return .respond(WholeAnswer(status: 503, body: OpenAIErrorBody(message: "The backend is unavailable: \(error)", type: "server_error").json), cancelUpstream: false)
        case .anthropicRelay:
            // Not reached, or the TLS handshake failed (curl's text names the cause): a gateway error.
            state = .finished
            let failure = AnthropicError(.api, "The Anthropic API could not be reached: \(error.description)")
            facts.append(.failed(failure.description))
            facts.append(.warning("the Anthropic API could not be reached: \(error.description)"))
            return .respond(WholeAnswer(status: 502, body: failure.body(requestID: settings.requestID)), cancelUpstream: false)
        }
    }

    // MARK: After a failure before the client saw an answer

    /// The glue routed the request again (another deployment, or a fallback alias): `translation` is
    /// the request as translated for it, `firstBody` its upstream body when already serialized. Behind
    /// a stream's head only a translated stream can continue: any other translation (an Anthropic API
    /// alias, whose bytes are its own) gives up.
    mutating func tryAgain(_ translation: Translation, firstBody: [UInt8]? = nil) -> Action {
        guard case .failedBeforeClient = state else { return .none }
        if streamHeadWritten {
            guard case .messages(let translated) = translation, translated.body["stream"] == true else { return giveUp() }
        }
        self.translation = translation
        retried = false  // the single max_tokens retry is per deployment
        heldHeaders = []
        state = .awaitingHead
        return .startUpstream(body: firstBody ?? Self.upstreamBody(translation))
    }

    /// Nothing else is tried: the failure is answered as it stands.
    mutating func giveUp() -> Action {
        guard case .failedBeforeClient(let pending) = state else { return .none }
        triesAgain = false
        switch pending {
        case .unreachable(let error):
            return unreachable(error)
        case .answer(let status, let body):
            state = .modifying
            return complete(status: status, body: body)
        case .closedWithoutAnswer:
            return finish(with: UpstreamErrorMapper.unreachable("the connection closed before the model finished"), cancelUpstream: false)
        }
    }

    // MARK: Client and timer events

    /// The client's connection closed: the upstream call is cancelled, so the backend frees its slot.
    mutating func clientClosed() -> Action {
        switch state {
        case .finished, .modifying:
            return .disarmKeepalive
        case .idle, .awaitingHead, .translatingStream, .relaying, .collecting, .failedBeforeClient:
            state = .finished
            facts.append(.note("client disconnected"))
            return .abandon(cancelUpstream: true, closeConnection: false)
        }
    }

    /// The client's channel became writable or not: a transfer paused for it may resume.
    mutating func clientWritabilityChanged() -> Action {
        switch state {
        case .awaitingHead, .translatingStream, .relaying, .collecting: .resumeUpstream
        case .idle, .finished, .modifying, .failedBeforeClient: .none
        }
    }

    /// The keep-alive timer fired: a silent stream whose client reads gets `event: ping`.
    /// Behind the head, pings go on while another call is made and waited for.
    mutating func keepaliveTick(clientWritable: Bool) -> Action {
        switch state {
        case .translatingStream: break
        case .awaitingHead where streamHeadWritten, .collecting where streamHeadWritten, .failedBeforeClient where streamHeadWritten: break
        default: return .disarmKeepalive
        }
        guard keepaliveClock.tick(clientWritable: clientWritable) else { return .none }
        facts.append(.keepalivePings(keepaliveClock.pings))
        var output: [UInt8] = []
        AnthropicStreamEvent.ping.writeSSE(into: &output)
        return .write(output)
    }

    /// Ends the exchange now (request deadline, drain or shutdown deadline): a stream gets an `error`
    /// event, a request still waiting its answer gets 529 `overloaded_error` (503 for OpenAI clients)
    /// with `x-should-retry: true`; the upstream call is cancelled.
    mutating func cut(reason: String) -> Action {
        let retry = Header(name: "x-should-retry", value: "true")
        switch state {
        case .finished, .modifying:
            return .none
        case .translatingStream(_, var translator):
            state = .modifying
            facts.append(.note("cut: \(reason)"))
            var output: [UInt8] = []
            var deltas = 0
            write(translator.abort(with: failure(Self.cutError(reason))), into: &output, deltas: &deltas)
            return endStream(translator, last: output, cancelUpstream: true)
        case .relaying:
            state = .finished
            facts.append(.note("cut: \(reason)"))
            return .abandon(cancelUpstream: true, closeConnection: true)
        case .awaitingHead where streamHeadWritten, .collecting where streamHeadWritten, .failedBeforeClient where streamHeadWritten:
            // Another call is made behind the stream's head: the stream ends with the error event.
            facts.append(.note("cut: \(reason)"))
            return finish(with: Self.cutError(reason), cancelUpstream: true)
        case .idle, .awaitingHead, .collecting, .failedBeforeClient:
            state = .finished
            facts.append(.note("cut: \(reason)"))
            switch translation {
            case .messages, .countTokens, .anthropicRelay:
                let error = Self.cutError(reason)
                facts.append(.failed(error.description))
                var whole = answer(error)
                whole.headers.append(retry)
                return .respond(whole, cancelUpstream: true)
            case .passthrough:
                let body = OpenAIErrorBody(message: "The request was cut short: \(reason)", type: "server_error").json
                return .respond(WholeAnswer(status: 503, body: body, headers: [retry]), cancelUpstream: true)
            }
        }
    }

    // MARK: Private

    static let streamHeaders = [
        Header(name: "content-type", value: "text/event-stream; charset=utf-8"),
        Header(name: "cache-control", value: "no-cache"),
    ]

    private static func cutError(_ reason: String) -> AnthropicError {
        AnthropicError(.overloaded, "The request was cut short: \(reason)")
    }

    /// The upstream body of a request: the completion request, or `/tokenize`'s.
    private static func upstreamBody(_ translation: Translation) -> [UInt8] {
        switch translation {
        case .messages(let translated): JSONValue.object(translated.body).jsonBytes
        case .countTokens(let translated): translated.tokenizeBody.jsonBytes
        case .passthrough, .anthropicRelay: preconditionFailure("a relayed request's body is given at the start")
        }
    }

    private func answer(_ error: AnthropicError) -> WholeAnswer {
        WholeAnswer(status: error.httpStatus, body: error.body(requestID: settings.requestID))
    }

    /// `error`, reported as the reason this request failed.
    private mutating func failure(_ error: AnthropicError) -> AnthropicError {
        facts.append(.failed(error.description))
        return error
    }

    /// Writes `events` as SSE; the content deltas among them are counted into `deltas`.
    private mutating func write(_ events: [AnthropicStreamEvent], into output: inout [UInt8], deltas: inout Int) {
        for event in events {
            switch event {
            case .contentBlockDelta:
                deltas += 1
            case .messageStart(let message):
                startPromptTokens = message.usage.inputTokens + message.usage.cacheReadInputTokens
            default: break
            }
            event.writeSSE(into: &output)
        }
    }

    /// The batch's content deltas went out: the first token, and (a delta standing for a token until
    /// the usage tells) the tokens streamed.
    private mutating func streamed(deltas: Int) {
        guard deltas > 0 else { return }
        facts.append(.firstToken)
        facts.append(.streamedTokens(deltas))
    }

    private mutating func endStream(_ translator: StreamTranslator, last: [UInt8], cancelUpstream: Bool = false) -> Action {
        state = .finished
        facts.append(.usage(translator.finalUsage))
        if translator.startUsageSource != .backend, let usage = translator.finalUsage {
            // A backend without continuous usage reported the prompt at the end: later estimates use it.
            facts.append(.calibration(promptTokens: usage.inputTokens + usage.cacheReadInputTokens))
        }
        if translator.startUsageSource == .estimate {
            facts.append(.addedNote("message_start usage estimated: the backend reported no prompt size in its first chunk"))
        }
        if translator.failed {
            facts.append(.endedWithErrorEvent)
        }
        // A stream the translation failed (oversized event, bad chunk) is over for the client: stop
        // reading the backend too, so it frees the slot instead of generating for no one.
        return .endAnswer(last: last, cancelUpstream: cancelUpstream || translator.failed)
    }

    /// A whole answer is read: translate it, or retry once with a `max_tokens` that fits.
    private mutating func complete(status: Int, body: [UInt8]) -> Action {
        switch translation {
        case .passthrough, .anthropicRelay:
            // Only an error the glue may try elsewhere is collected (see `upstreamHead`).
            if let again = mayTryAgain(status: status, body: body) { return again }
            state = .finished
            facts.append(.note("backend HTTP \(status)"))
            facts.append(.upstreamError(kind: UpstreamError.metricKind(httpStatus: status)))
            return .relayWhole(status: status, headers: heldHeaders, body: body)
        case .countTokens(let translated):
            if status != 200, let again = mayTryAgain(status: status, body: body) { return again }
            guard status == 200 else { return estimateCount(translated, reason: "the backend answered HTTP \(status) to /tokenize") }
            guard let number = (try? JSONParser.parse(body))?["count"], number.doubleValue != nil else {
                return estimateCount(translated, reason: "the backend's /tokenize answer has no count")
            }
            // The backend's number: clamped like every token count it sends.
            let count = ChatCompletionChunk.Usage.tokens(number)
            state = .finished
            facts.append(.usage(AnthropicUsage(inputTokens: count)))
            return .respond(WholeAnswer(status: 200, body: ["input_tokens": .int(count)]), cancelUpstream: false)
        case .messages(let translated):
            guard status == 200 else {
                if let retry = retryWithSmallerMaxTokens(status: status, body: body, translated: translated) { return retry }
                if let again = mayTryAgain(status: status, body: body) { return again }
                facts.append(.addedNote("backend HTTP \(status)"))
                facts.append(.upstreamError(kind: UpstreamError.metricKind(httpStatus: status)))
                return finish(with: UpstreamErrorMapper.map(status: status, body: body, context: translated.context), cancelUpstream: false)
            }
            do throws(AnthropicError) {
                let json: JSONValue
                do { json = try JSONParser.parse(body) } catch { throw AnthropicError(.api, "The backend's answer is not valid JSON") }
                let message = try ResponseTranslator.translate(json, context: translated.context)
                state = .finished
                facts.append(.usage(message.usage))
                facts.append(.calibration(promptTokens: message.usage.inputTokens + message.usage.cacheReadInputTokens))
                facts.append(.firstToken)
                return .respond(WholeAnswer(status: 200, body: message.json, traced: true), cancelUpstream: false)
            } catch {
                return finish(with: error, cancelUpstream: false)
            }
        }
    }

    /// An error answer another call may cure, while the glue tries again: a status a retry may cure,
    /// or vLLM's context-length refusal (after the `max_tokens` retry had its say).
    private mutating func mayTryAgain(status: Int, body: [UInt8]) -> Action? {
        guard triesAgain else { return nil }
        let failure: FallbackChain.Failure
        if FallbackChain.isTransient(status: status) {
            failure = .transient
        } else if status == 400, let message = UpstreamErrorMapper.errorMessage(in: body), ContextLengthOverflow(message: message) != nil {
            failure = .contextWindow
        } else {
            return nil
        }
        facts.append(.upstreamError(kind: UpstreamError.metricKind(httpStatus: status)))
        state = .failedBeforeClient(.answer(status: status, body: body))
        return .upstreamFailed(failure, hop: String(status))
    }

    /// vLLM refuses `prompt + max_tokens > max_model_len` (Claude Code asks for 32000): when the prompt
    /// itself fits, ask again once with the `max_tokens` that fits.
    private mutating func retryWithSmallerMaxTokens(status: Int, body: [UInt8], translated: TranslatedRequest) -> Action? {
        guard status == 400, !retried, settings.retriesContextOverflow,
              let message = UpstreamErrorMapper.errorMessage(in: body),
              let overflow = ContextLengthOverflow(message: message),
              let fit = overflow.maxTokensThatFit, fit >= 1,
              let asked = translated.body["max_tokens"]?.intValue, fit < asked
        else { return nil }
        retried = true
        var lowered = translated
        lowered.body["max_tokens"] = .int(fit)
        translation = .messages(lowered)
        facts.append(.addedNote("max_tokens lowered from \(asked) to \(fit) to fit the context"))
        facts.append(.notice("max_tokens \(asked) does not fit next to the prompt; retrying with \(fit)"))
        state = .awaitingHead
        return .startUpstream(body: Self.upstreamBody(translation))
    }

    /// count_tokens when the backend cannot tokenize: an estimate (4 bytes a token), labelled as such
    /// in the `x-spark-bridge-token-count: estimate` header and the log.
    private mutating func estimateCount(_ translated: TranslatedRequest, reason: String) -> Action {
        let estimate = max(1, translated.tokenizeBody.jsonBytes.count / 4)
        state = .finished
        facts.append(.note("token count estimated: \(reason)"))
        facts.append(.warning("count_tokens estimated (\(reason))"))
        let headers = [Header(name: "x-spark-bridge-token-count", value: "estimate")]
        return .respond(WholeAnswer(status: 200, body: ["input_tokens": .int(estimate)], headers: headers), cancelUpstream: false)
    }

    /// Whether the glue is asked to try `error` elsewhere: retries are on, and the request's time is not spent.
    private func callsAgain(after error: UpstreamError) -> Bool {
        triesAgain && error != .totalTimeout && error != .cancelled && error != .consumerStalled
    }

    /// Ends with `error`: an error answer before the head; behind a stream's head (a call made again
    /// that failed too), an `error` event that ends the stream.
    private mutating func finish(with error: AnthropicError, cancelUpstream: Bool) -> Action {
        state = .finished
        facts.append(.failed(error.description))
        guard streamHeadWritten else { return .respond(answer(error), cancelUpstream: cancelUpstream) }
        facts.append(.endedWithErrorEvent)
        var event: [UInt8] = []
        AnthropicStreamEvent.error(error).writeSSE(into: &event)
        return .endAnswer(last: event, cancelUpstream: cancelUpstream)
    }
}
