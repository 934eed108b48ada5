// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The streaming state machine: OpenAI `chat.completion.chunk`s in, Anthropic SSE events out.
///
/// Feed it every item of the upstream stream with `consume(_:)` and call `endOfStream()` when the
/// upstream connection ends; each call returns the events to send, in order:
/// `message_start` → per block `content_block_start` / deltas / `content_block_stop` →
/// `message_delta` (held until the usage chunk or `[DONE]`) → `message_stop`, with one `ping` after
/// the first block starts.
///
/// `message_start` goes out with the first chunk and carries the prompt size: vLLM puts it on every
/// chunk, the first included, when asked for `stream_options.continuous_usage_stats`; a backend that
/// does not gets the context's `estimatedPromptTokens` (``startUsageSource`` says which). vLLM reports
/// cached tokens only in the final usage chunk, so `message_delta` carries the split of the same total
/// (`input_tokens` = prompt − cached, `cache_read_input_tokens` = cached). An upstream error, or an upstream that ends before `finish_reason`, ends
/// the stream with an `error` event instead — never a silently truncated success.
///
/// Whole responses go through the same machine as a single chunk, so a streamed answer and a whole
/// answer always translate to the same message.
public struct StreamTranslator: Sendable {
    private enum Phase { case notStarted, streaming, finishing, finished, failed }
    private enum OpenBlock: Equatable {
        case none
        case thinking(index: Int)
        case text(index: Int)
        /// `upstreamIndex` is the backend's `tool_calls[].index` (any integer it sends), or `nil` for a
        /// call rescued from Qwen markup, which arrives whole.
        case tool(index: Int, upstreamIndex: Int?)
    }

    private struct ToolCall {
        /// Where the call first appeared among the stream's calls.
        var position: Int
        var id: String?
        var name: String?
        var pending = ""
        var arguments = ToolArgumentsScanner()
        var opened = false
        var closed = false
    }

    public let context: TranslationContext
    /// Most tool-call argument bytes one response may carry: arguments are held until their call can
    /// stream (a call without a name, or one waiting behind another), so a backend could otherwise
    /// grow the bridge's memory without bound. More is a backend fault, answered with an error event.
    public static let maximumToolArgumentBytes = 64 << 20
    /// Most white space held back at the end of the text (sent only if text follows): past this it is
    /// sent at once (or dropped before any block, where it would be dropped anyway), so a backend sending
    /// nothing but white space cannot grow it without bound.
    static let maximumHeldWhitespace = 1 << 20
    private var phase = Phase.notStarted
    private var messageID: String
    private var nextBlockIndex = 0
    private var open = OpenBlock.none
    private var pingSent = false
    private var markup: QwenMarkupScanner
    /// Trailing white space of the text so far: sent only if more text follows in the same block.
    private var pendingWhitespace = ""
    private var toolCalls: [Int: ToolCall] = [:]
    /// Upstream indices of the calls, in the order they first appeared.
    private var toolOrder: [Int] = []
    /// Named calls not opened yet: each chunk finds the next one in O(log n), not by a scan.
    private var waitingToolCalls = WaitingToolCalls()
    /// Argument bytes received for all tool calls of the stream (bounded by `maximumToolArgumentBytes`).
    private var toolArgumentBytes = 0
    private var generatedToolIDs = 0
    private var sawToolUse = false
    /// The open text block last grew from reasoning shown as text (`thinking: disabled`).
    private var textFromReasoning = false
    private var finishReason: String?
    private var upstreamStopReason: JSONValue?
    private var usage: ChatCompletionChunk.Usage?
    /// The usage `message_start` carried; `message_delta` falls back to it when no usage followed.
    private var startUsage = AnthropicUsage()
    /// Where `message_start`'s usage came from.
    public private(set) var startUsageSource = UsageSource.none
    private var events: [AnthropicStreamEvent] = []

    public init(context: TranslationContext) {
        self.context = context
        messageID = context.fallbackMessageID
        markup = QwenMarkupScanner(enabled: context.rescuesQwenMarkup, schemas: context.toolSchemas)
    }

    /// Whether the stream has ended, successfully or with an error event.
    public var isFinished: Bool { phase == .finished || phase == .failed }

    /// Whether the stream ended with an error event.
    public var failed: Bool { phase == .failed }

    /// Whether any event has been produced (the response has started).
    public var hasStarted: Bool { phase != .notStarted }

    /// The usage reported by the backend, once known.
    public var finalUsage: AnthropicUsage? { usage.map(Self.anthropicUsage) }

    /// Where the prompt size `message_start` reports came from.
    public enum UsageSource: String, Sendable, Equatable {
        /// Nothing has been sent yet.
        case none
        /// The backend's first chunk (`continuous_usage_stats`).
        case backend
        /// The bridge's estimate: the backend reported no usage with its first chunk.
        case estimate
    }

    /// Translates one upstream item.
    public mutating func consume(_ item: UpstreamStreamItem) -> [AnthropicStreamEvent] {
        guard !isFinished else { return [] }
        switch item {
        case .chunk(let chunk): handle(chunk)
        case .error(let error): fail(error)
        case .done:
            if phase == .finishing {
                finalize()
            } else {
                fail(UpstreamErrorMapper.unreachable("the response ended before the model finished"))
            }
        }
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// The upstream connection ended (with or without `[DONE]`).
    public mutating func endOfStream() -> [AnthropicStreamEvent] {
        guard !isFinished else { return [] }
        if phase == .finishing {
            finalize()
        } else {
            fail(UpstreamErrorMapper.unreachable("the connection closed before the model finished"))
        }
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// Ends the stream with `error` (shutdown deadline, client-side limits).
    public mutating func abort(with error: AnthropicError) -> [AnthropicStreamEvent] {
        guard !isFinished else { return [] }
        fail(error)
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    // MARK: - Chunks

    private mutating func handle(_ chunk: ChatCompletionChunk) {
        if phase == .notStarted { start(upstreamID: chunk.id, usage: chunk.usage) }
        if phase == .streaming {
            if let reasoning = chunk.reasoning, !reasoning.isEmpty {
                flushMarkup()
                if context.reasoningIsText {
                    handleText(reasoning)
                    textFromReasoning = true
                } else {
                    handleReasoning(reasoning)
                }
            }
            if let content = chunk.content, !content.isEmpty {
                if textFromReasoning {
                    // Reasoning shown as text and the answer after it are two paragraphs, not one word.
                    textFromReasoning = false
                    if case .text = open { pendingWhitespace += "\n\n" }
                }
                for segment in markup.feed(content) { handle(segment) }
            }
            if !chunk.toolCalls.isEmpty { flushMarkup() }
            for delta in chunk.toolCalls { handle(delta) }
            if toolArgumentBytes > Self.maximumToolArgumentBytes {
                fail(AnthropicError(.api, "The backend sent more than \(Self.maximumToolArgumentBytes) bytes of tool call arguments"))
                return
            }
            pumpToolCalls()
            if let reason = chunk.finishReason {
                finishReason = reason
                upstreamStopReason = chunk.stopReason
                finishBlocks()
            }
        }
        if let chunkUsage = chunk.usage { usage = chunkUsage }
        // With continuous usage every chunk carries usage, the finish chunk too: the totals (with the
        // cached tokens) come in the chunk that carries nothing else.
        if phase == .finishing, chunk.usage != nil, chunk.carriesOnlyUsage { finalize() }
    }

    private mutating func start(upstreamID: String?, usage firstUsage: ChatCompletionChunk.Usage?) {
        if let upstreamID {
            // Anthropic message ids are letters and digits: `chatcmpl-5b1e0f2a-7c3d-…` → `msg_5b1e0f2a7c3d…`.
            // Filtered as bytes: every kept character is ASCII, so no UTF-8 sequence is ever split.
            let kept = upstreamID.replacingPrefix("chatcmpl-").utf8.filter { Self.isLetterOrDigit($0) }
            if !kept.isEmpty { messageID = "msg_" + String(decoding: kept, as: UTF8.self) }
        }
        if let firstUsage, firstUsage.promptTokens > 0 {
            startUsage = Self.anthropicUsage(firstUsage)
            startUsageSource = .backend
        } else if let estimate = context.estimatedPromptTokens {
            startUsage = AnthropicUsage(inputTokens: estimate)
            startUsageSource = .estimate
        }
        let message = AnthropicMessage(id: messageID, model: context.clientModel, content: [], stopReason: nil, stopSequence: nil, usage: startUsage)
        events.append(.messageStart(message))
        phase = .streaming
    }

    /// Text held back because it could begin a tag cannot continue across a reasoning or tool-call
    /// delta: hand it on before that delta.
    private mutating func flushMarkup() {
        for segment in markup.finish() { handle(segment) }
    }

    private mutating func handle(_ segment: QwenMarkupScanner.Segment) {
        switch segment {
        case .text(let text): handleText(text)
        case .reasoning(let text):
            if context.reasoningIsText { handleText(text) } else { handleReasoning(text) }
        case .toolCall(let name, let input):
            openToolBlock(id: nil, backendName: name)
            events.append(.contentBlockDelta(index: nextBlockIndex - 1, delta: .inputJSON(input.jsonString)))
            closeOpenBlock()
        }
    }

    private mutating func handleReasoning(_ text: String) {
        if case .thinking(let index) = open {
            events.append(.contentBlockDelta(index: index, delta: .thinking(text)))
            return
        }
        closeOpenBlock()
        let index = openBlock(.thinking(thinking: "", signature: ""))
        open = .thinking(index: index)
        events.append(.contentBlockDelta(index: index, delta: .thinking(text)))
    }

    /// Text is sent without the white space that opens a block or ends one before another block; the
    /// continuation of a prefilled assistant turn keeps its leading white space.
    private mutating func handleText(_ text: String) {
        // Only `text` is scanned, never the white space held so far: a backend sending white space a
        // character at a time costs O(1) per chunk, not a rescan of all of it.
        let trimmedText = text.trimmingTrailingWhitespace
        guard !trimmedText.isEmpty else {
            pendingWhitespace += text
            if pendingWhitespace.utf8.count > Self.maximumHeldWhitespace { releaseHeldWhitespace() }
            return
        }
        let trailing = String(text[trimmedText.endIndex...])
        let trimmedEnd = pendingWhitespace + trimmedText
        if case .text(let index) = open {
            pendingWhitespace = trailing
            events.append(.contentBlockDelta(index: index, delta: .text(trimmedEnd)))
            return
        }
        let keepsLeading = context.continuesPrefill && nextBlockIndex == 0
        let body = keepsLeading ? trimmedEnd : String(trimmedEnd.drop { $0.isWhitespace })
        closeOpenBlock()
        pendingWhitespace = trailing
        let index = openBlock(.text(""))
        open = .text(index: index)
        events.append(.contentBlockDelta(index: index, delta: .text(body)))
    }

    /// Held white space past the bound: part of the open text block, or of the first block of a
    /// prefill continuation; anywhere else it would open a block with nothing in it, so it goes.
    private mutating func releaseHeldWhitespace() {
        let whitespace = pendingWhitespace
        pendingWhitespace = ""
        if case .text(let index) = open {
            events.append(.contentBlockDelta(index: index, delta: .text(whitespace)))
        } else if context.continuesPrefill && nextBlockIndex == 0 {
            let index = openBlock(.text(""))
            open = .text(index: index)
            events.append(.contentBlockDelta(index: index, delta: .text(whitespace)))
        }
    }

    private mutating func handle(_ delta: ChatCompletionChunk.ToolCallDelta) {
        var call = toolCalls.removeValue(forKey: delta.index) ?? {
            toolOrder.append(delta.index)
            return ToolCall(position: toolOrder.count - 1)
        }()
        if call.id == nil, let id = delta.id, !id.isEmpty { call.id = id }
        if call.name == nil, let name = delta.name, !name.isEmpty {
            call.name = name
            if !call.opened { waitingToolCalls.insert(call.position) }
        }
        if let arguments = delta.arguments {
            toolArgumentBytes += arguments.utf8.count
            if !call.closed { call.pending += arguments }
        }
        toolCalls[delta.index] = call
    }

    /// Streams the open tool call's arguments, and moves on to the next call once the open one is a
    /// complete object: parallel calls whose fragments interleave wait, buffered, for their turn.
    private mutating func pumpToolCalls() {
        while true {
            if case .tool(let index, let upstreamIndex?) = open {
                flushArguments(blockIndex: index, upstreamIndex: upstreamIndex)
                guard toolCalls[upstreamIndex]?.arguments.isComplete == true, let next = nextWaitingToolCall() else { return }
                closeOpenBlock()
                openToolCall(next)
            } else {
                guard let next = nextWaitingToolCall() else { return }
                openToolCall(next)
            }
        }
    }

    /// The upstream index of the earliest named call not opened yet.
    private func nextWaitingToolCall() -> Int? {
        waitingToolCalls.first.map { toolOrder[$0] }
    }

    /// Opens the call ``nextWaitingToolCall()`` returned.
    private mutating func openToolCall(_ upstreamIndex: Int) {
        guard let call = toolCalls[upstreamIndex], let name = call.name else { return }
        waitingToolCalls.removeFirst()
        openToolBlock(id: call.id, backendName: name)
        toolCalls[upstreamIndex]?.opened = true
        open = .tool(index: nextBlockIndex - 1, upstreamIndex: upstreamIndex)
    }

    private mutating func flushArguments(blockIndex: Int, upstreamIndex: Int) {
        guard var call = toolCalls.removeValue(forKey: upstreamIndex) else { return }
        defer { toolCalls[upstreamIndex] = call }
        guard !call.pending.isEmpty else { return }
        let text = call.arguments.feed(call.pending)
        call.pending = ""
        if !text.isEmpty { events.append(.contentBlockDelta(index: blockIndex, delta: .inputJSON(text))) }
    }

    /// Opens a `tool_use` block (leaving `open` for the caller to set).
    private mutating func openToolBlock(id: String?, backendName: String) {
        closeOpenBlock()
        let blockID = usableToolID(id)
        let index = openBlock(.toolUse(id: blockID, name: context.toolNames.clientName(for: backendName), input: .object([:])))
        open = .tool(index: index, upstreamIndex: nil)
        sawToolUse = true
    }

    /// Tool ids go back to the client, which sends them again; they must match `[a-zA-Z0-9_-]+`.
    private mutating func usableToolID(_ id: String?) -> String {
        if let id, !id.isEmpty {
            return String(String.UnicodeScalarView(id.unicodeScalars.map { Self.isIDCharacter($0) ? $0 : "_" }))
        }
        generatedToolIDs += 1
        return "toolu_\(messageID.replacingPrefix("msg_"))_\(generatedToolIDs)"
    }

    private mutating func openBlock(_ block: AnthropicResponseBlock) -> Int {
        let index = nextBlockIndex
        nextBlockIndex += 1
        events.append(.contentBlockStart(index: index, block: block))
        if !pingSent {
            pingSent = true
            events.append(.ping)
        }
        return index
    }

    private mutating func closeOpenBlock() {
        switch open {
        case .none:
            return
        case .thinking(let index):
            events.append(.contentBlockDelta(index: index, delta: .signature(signature)))
            events.append(.contentBlockStop(index: index))
        case .text(let index):
            events.append(.contentBlockStop(index: index))
        case .tool(let index, let upstreamIndex):
            if let upstreamIndex, var call = toolCalls.removeValue(forKey: upstreamIndex) {
                let text = call.arguments.feed(call.pending) + call.arguments.finish()
                call.pending = ""
                call.closed = true
                toolCalls[upstreamIndex] = call
                if !text.isEmpty { events.append(.contentBlockDelta(index: index, delta: .inputJSON(text))) }
            }
            events.append(.contentBlockStop(index: index))
        }
        open = .none
        pendingWhitespace = ""
    }

    /// A thinking block's signature. Nothing verifies it here; clients only need one to be present
    /// and to send it back unchanged, which the bridge then ignores.
    private var signature: String {
        Self.base64(Array("spark-bridge:\(messageID)".utf8))
    }

    // MARK: - End

    private mutating func finishBlocks() {
        flushMarkup()
        if case .text(let index) = open, !pendingWhitespace.isEmpty {
            events.append(.contentBlockDelta(index: index, delta: .text(pendingWhitespace)))
        }
        pumpToolCalls()
        closeOpenBlock()
        while let next = nextWaitingToolCall() {
            openToolCall(next)
            closeOpenBlock()
        }
        phase = .finishing
    }

    private mutating func finalize() {
        if phase == .streaming { finishBlocks() }
        let (stopReason, stopSequence) = mappedStopReason()
        events.append(.messageDelta(stopReason: stopReason, stopSequence: stopSequence, usage: finalUsage ?? startUsage))
        events.append(.messageStop)
        phase = .finished
    }

    private mutating func fail(_ error: AnthropicError) {
        events.append(.error(error))
        phase = .failed
    }

    private func mappedStopReason() -> (AnthropicStopReason, String?) {
        var reason: AnthropicStopReason
        var sequence: String?
        switch finishReason {
        case "stop":
            if let matched = upstreamStopReason?.stringValue, context.stopSequences.contains(matched) {
                reason = .stopSequence
                sequence = matched
            } else {
                reason = .endTurn
            }
        case "length": reason = .maxTokens
        case "tool_calls", "function_call": reason = .toolUse
        case "content_filter": reason = .refusal
        default: reason = .endTurn
        }
        if sawToolUse, reason == .endTurn || reason == .stopSequence {
            reason = .toolUse
            sequence = nil
        } else if reason == .toolUse, !sawToolUse {
            reason = .endTurn
        }
        return (reason, sequence)
    }

    /// The backend's counts in Anthropic's terms: the cached part of the prompt is reported apart. The
    /// counts are already clamped to ``ChatCompletionChunk/Usage/maximumTokens`` and at least 0, and
    /// cached tokens to the prompt, so no subtraction or later sum can overflow.
    static func anthropicUsage(_ usage: ChatCompletionChunk.Usage) -> AnthropicUsage {
        let cached = min(usage.cachedTokens, usage.promptTokens)
        return AnthropicUsage(
            inputTokens: usage.promptTokens - cached,
            outputTokens: usage.completionTokens,
            cacheCreationInputTokens: 0,
            cacheReadInputTokens: cached
        )
    }

    static func isIDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// An ASCII letter or digit.
    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 0x3F)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension String {
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }

    var trimmingTrailingWhitespace: Substring {
        var end = endIndex
        while end > startIndex {
            let previous = index(before: end)
            guard self[previous].isWhitespace else { break }
            end = previous
        }
        return self[..<end]
    }
}
