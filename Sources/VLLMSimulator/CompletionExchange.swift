// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOCore
import NIOHTTP1

/// Delivers one chat completion over a channel on the generation's clock.
///
/// ``begin()`` sends a stream's head at once; the clock starts when the engine admits the request
/// (``run(cachedTokens:)``), which may be later under `--max-num-seqs`. Time to first token is the
/// configured (or scripted) one plus the prefill of the prompt tokens the prefix cache did not hold.
/// Token `n` of a generation is "produced" at `start + ttft + (n - 1) / tokensPerSecond`; each event is
/// sent when the last token it needs exists (the role chunk with the first token, as vLLM sends it on
/// the engine's first output). Timing uses scheduled tasks on the channel's event loop — no thread
/// ever sleeps — and events that are due together go out in one write.
///
/// Lives on the channel's event loop only.
final class CompletionExchange {
    /// What one scheduled write sends.
    enum Event {
        case role
        case step(Int)
        case final(Generation.FinalDelta, Finish)
        case usage
        case error(APIError)
        case done
        /// The whole non-streaming response (or its error).
        case whole
    }

    private let context: ChannelHandlerContext
    private let state: SimulatorState
    private var generation: Generation
    private let request: ChatRequest
    private let encoder: ChunkEncoder
    private let id: String
    private let created: Int
    private let model: String
    private let recordID: Int
    private let version: HTTPVersion
    private let keepAlive: Bool
    private let dropAfterChunks: Int?
    private var start: NIODeadline
    /// Time to first token before prefill: the configured or scripted one, plus the cold start.
    private let baseTTFT: TimeAmount
    private var ttft: TimeAmount
    private let nanosecondsPerToken: Double
    private let onFinished: () -> Void

    private var events: [(event: Event, slot: Int)] = []
    private var next = 0
    private var written = 0
    private var scheduled: Scheduled<Void>?
    private var finished = false

    init(
        context: ChannelHandlerContext,
        state: SimulatorState,
        request: ChatRequest,
        model: String,
        generation: Generation,
        directive: SimDirective?,
        recordID: Int,
        version: HTTPVersion,
        keepAlive: Bool,
        extraDelayMilliseconds: Int,
        onFinished: @escaping () -> Void
    ) {
        let configuration = state.configuration
        self.context = context
        self.state = state
        self.request = request
        self.model = model
        self.generation = generation
        self.recordID = recordID
        self.version = version
        self.keepAlive = keepAlive
        self.onFinished = onFinished
        id = Identifiers.completionID()
        created = HTTPDate.unixSeconds()
        encoder = ChunkEncoder(id: id, created: created, model: model, reasoningField: configuration.reasoningField)
        dropAfterChunks = directive?.dropAfterChunks
        start = .now()
        // Each part clamped to 0...a day, so neither the sum nor the conversion to nanoseconds can overflow.
        let bound = { (milliseconds: Int) in Int64(min(max(0, milliseconds), SimDirective.maximumTTFTMilliseconds)) }
        baseTTFT = .milliseconds(bound(directive?.ttftMilliseconds ?? configuration.ttftMilliseconds) + bound(extraDelayMilliseconds))
        ttft = baseTTFT
        let rate = directive?.tokensPerSecond ?? configuration.tokensPerSecond
        nanosecondsPerToken = rate > 0 ? 1e9 / rate : 0
        events = request.stream ? Self.streamEvents(generation: generation, request: request) : [(.whole, generation.completionTokens)]
    }

    /// The stream's events and the token slot each waits for.
    static func streamEvents(generation: Generation, request: ChatRequest) -> [(event: Event, slot: Int)] {
        var events: [(event: Event, slot: Int)] = []
        let total = generation.steps.reduce(0) { $0 + $1.cost }
        events.append((.role, min(1, max(total, generation.completionTokens))))
        var slot = 0
        for (index, step) in generation.steps.enumerated() {
            slot += step.cost
            if step.delta != nil { events.append((.step(index), slot)) }
        }
        switch generation.ending {
        case .separate(let delta, let finish?):
            events.append((.final(delta, finish), generation.completionTokens))
        case .separate(_, nil), .onLastStep:
            break
        case .midstreamError(let error):
            events.append((.error(error), slot))
        }
        let end = max(slot, generation.completionTokens)
        let failed = if case .midstreamError = generation.ending { true } else { false }
        if request.includeUsage && !failed { events.append((.usage, end)) }
        events.append((.done, end))
        return events
    }

    /// Sends the response head (streams): vLLM answers it once the engine has queued the request.
    func begin() {
        if request.stream {
            // Starlette sends the head of a StreamingResponse before the generator's first event.
            writeHead(status: .ok, contentType: "text/event-stream; charset=utf-8", contentLength: nil)
            context.flush()
        }
    }

    /// The engine admitted the request with `cachedTokens` prompt tokens from the prefix cache: starts
    /// the clock, with their prefill added to the time to first token.
    func run(cachedTokens: Int) {
        guard !finished else { return }
        let configuration = state.configuration
        if generation.cachedTokens == nil, configuration.enablePromptTokensDetails, cachedTokens > 0 {
            generation.cachedTokens = cachedTokens
        }
        start = .now()
        ttft = baseTTFT + configuration.prefillDelay(uncachedTokens: generation.promptTokens - cachedTokens)
        let plannedMilliseconds = Double(ttft.nanoseconds) / 1e6
        state.update(recordID) {
            $0.cachedTokens = cachedTokens
            $0.ttftMilliseconds = plannedMilliseconds
        }
        pump()
    }

    /// The client went away: stop, and log the request as aborted.
    func clientClosed() {
        guard !finished else { return }
        finished = true
        scheduled?.cancel()
        scheduled = nil
        state.update(recordID) { if !$0.completed { $0.aborted = true } }
    }

    /// Longest generation time scheduled (a year): slow rates over huge windows stay far from overflow.
    static let maximumGenerationNanoseconds = 365.0 * 86_400 * 1e9

    private func deadline(forSlot slot: Int) -> NIODeadline {
        let generationTime = slot > 1 ? Int64(min(Double(slot - 1) * nanosecondsPerToken, Self.maximumGenerationNanoseconds)) : 0
        return start + ttft + .nanoseconds(generationTime)
    }

    /// Sends every event that is due, then sleeps (on a scheduled task) until the next one.
    private func pump() {
        guard !finished else { return }
        scheduled = nil
        let now = NIODeadline.now()
        var buffer = context.channel.allocator.buffer(capacity: 512)
        while next < events.count {
            let (event, slot) = events[next]
            let due = deadline(forSlot: slot)
            if due > now {
                flush(&buffer)
                scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in pump() }
                return
            }
            if case .whole = event {
                finishWhole()
                return
            }
            if let limit = dropAfterChunks, written >= limit {
                drop(after: flush(&buffer))
                return
            }
            buffer.writeBytes(bytes(for: event, slot: slot))
            written += 1
            next += 1
        }
        flush(&buffer)
        finishStream()
    }

    private func bytes(for event: Event, slot: Int) -> [UInt8] {
        Self.bytes(for: event, slot: slot, generation: generation, request: request, encoder: encoder, errorFormat: state.configuration.errorFormat)
    }

    /// The bytes of one stream event (empty for `.whole`, which is not a stream event); `slot` is the
    /// token count the event waits for (for a step, the tokens generated through it).
    static func bytes(
        for event: Event, slot: Int, generation: Generation, request: ChatRequest, encoder: ChunkEncoder, errorFormat: ErrorFormat
    ) -> [UInt8] {
        let prompt = generation.promptTokens
        var usage: ChunkEncoder.Usage?
        if request.stream && request.continuousUsage { usage = .init(prompt: prompt, completion: 0) }
        switch event {
        case .role:
            return encoder.roleChunk(usage: usage)
        case .step(let index):
            // The step's slot is the tokens generated through it (summing the steps here would make a
            // long stream quadratic).
            usage?.completion = slot
            let isLast = index == generation.steps.count - 1
            var finish: Finish?
            if isLast, case .onLastStep(let onLast) = generation.ending { finish = onLast }
            return encoder.chunk(.output(generation.steps[index].delta!), finish: finish, usage: usage)
        case .final(let delta, let finish):
            usage?.completion = generation.completionTokens
            return encoder.chunk(delta, finish: finish, usage: usage)
        case .usage:
            return encoder.usageChunk(prompt: prompt, completion: generation.completionTokens, cached: generation.cachedTokens)
        case .error(let error):
            return ChunkEncoder.errorEvent(error, format: errorFormat)
        case .done:
            return ChunkEncoder.done
        case .whole:
            return []
        }
    }

    /// Writes what `buffer` holds as one HTTP chunk.
    @discardableResult
    private func flush(_ buffer: inout ByteBuffer) -> EventLoopFuture<Void>? {
        guard buffer.readableBytes > 0 else { return nil }
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))))
        buffer = context.channel.allocator.buffer(capacity: 512)
        return written
    }

    /// `drop_after_chunks`: close the connection mid-response (once the chunks sent so far are out), as
    /// a crashed server would; the chunked body never ends and no `[DONE]` is sent.
    private func drop(after written: EventLoopFuture<Void>?) {
        finished = true
        let context = context
        if let written {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
        onFinished()
    }

    private func finishStream() {
        finished = true
        let recordID = recordID
        let state = state
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        written.whenSuccess { state.update(recordID) { $0.completed = true } }
        if !keepAlive || version.minor == 0 {
            let context = context
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
        onFinished()
    }

    private func finishWhole() {
        if dropAfterChunks != nil {
            drop(after: nil)
            return
        }
        finished = true
        let status: HTTPResponseStatus
        let body: [UInt8]
        if case .midstreamError(let error) = generation.ending {
            status = HTTPResponseStatus(statusCode: error.status)
            body = error.body(format: state.configuration.errorFormat)
        } else {
            status = .ok
            body = CompletionResponse.body(
                generation: generation, id: id, created: created, model: model,
                reasoningField: state.configuration.reasoningField
            )
        }
        HTTPResponder.respond(
            context: context, state: state, recordID: recordID, version: version, status: status,
            contentType: "application/json", body: body, keepAlive: keepAlive
        )
        onFinished()
    }

    private func writeHead(status: HTTPResponseStatus, contentType: String, contentLength: Int?) {
        let head = HTTPResponder.head(
            version: version, status: status, contentType: contentType, contentLength: contentLength,
            keepAlive: keepAlive && version.minor > 0
        )
        state.update(recordID) { $0.status = Int(status.code) }
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    }
}
