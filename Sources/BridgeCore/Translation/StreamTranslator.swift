// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The streaming state machine: OpenAI `chat.completion.chunk`s in, Anthropic SSE events out.
///
/// Feed it every item of the upstream stream with `consume(_:)` and call `endOfStream()` when the
/// upstream connection ends; each call returns the events to send, in order:
/// `message_start` → per block `content_block_start` / deltas / `content_block_stop` →
/// `message_delta` (held until the usage chunk or `[DONE]`) → `message_stop`, with one `ping` after
/// the first block starts. An upstream error, or an upstream that ends before `finish_reason`, ends
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
        case tool(index: Int, upstreamIndex: Int)
    }

    private struct ToolCall {
        var id: String?
        var name: String?
        var pending = ""
        var arguments = ToolArgumentsScanner()
        var opened = false
        var closed = false
    }

    public let context: TranslationContext
    private var phase = Phase.notStarted
    private var messageID: String
    private var nextBlockIndex = 0
    private var open = OpenBlock.none
    private var pingSent = false
    private var markup: QwenMarkupScanner
    /// Trailing white space of the text so far: sent only if more text follows in the same block.
    private var pendingWhitespace = ""
    private var toolCalls: [Int: ToolCall] = [:]
    private var toolOrder: [Int] = []
    private var generatedToolIDs = 0
    private var sawToolUse = false
    /// The open text block last grew from reasoning shown as text (`thinking: disabled`).
    private var textFromReasoning = false
    private var finishReason: String?
    private var upstreamStopReason: JSONValue?
    private var usage: ChatCompletionChunk.Usage?
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
        if phase == .notStarted { start(upstreamID: chunk.id) }
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
            pumpToolCalls()
            if let reason = chunk.finishReason {
                finishReason = reason
                upstreamStopReason = chunk.stopReason
                finishBlocks()
            }
        }
        if let chunkUsage = chunk.usage { usage = chunkUsage }
        if phase == .finishing, usage != nil { finalize() }
    }

    private mutating func start(upstreamID: String?) {
        if let upstreamID {
            // Anthropic message ids are letters and digits: `chatcmpl-5b1e0f2a-7c3d-…` → `msg_5b1e0f2a7c3d…`.
            let suffix = String(String.UnicodeScalarView(upstreamID.replacingPrefix("chatcmpl-").unicodeScalars.filter { Self.isIDCharacter($0) && $0 != "_" && $0 != "-" }))
            if !suffix.isEmpty { messageID = "msg_" + suffix }
        }
        let message = AnthropicMessage(id: messageID, model: context.clientModel, content: [], stopReason: nil, stopSequence: nil, usage: AnthropicUsage())
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
        let combined = pendingWhitespace + text
        let trimmedEnd = combined.trimmingTrailingWhitespace
        guard !trimmedEnd.isEmpty else {
            pendingWhitespace = combined
            return
        }
        let trailing = String(combined[trimmedEnd.endIndex...])
        if case .text(let index) = open {
            pendingWhitespace = trailing
            events.append(.contentBlockDelta(index: index, delta: .text(String(trimmedEnd))))
            return
        }
        let keepsLeading = context.continuesPrefill && nextBlockIndex == 0
        let body = keepsLeading ? String(trimmedEnd) : String(trimmedEnd.drop { $0.isWhitespace })
        closeOpenBlock()
        pendingWhitespace = trailing
        let index = openBlock(.text(""))
        open = .text(index: index)
        events.append(.contentBlockDelta(index: index, delta: .text(body)))
    }

    private mutating func handle(_ delta: ChatCompletionChunk.ToolCallDelta) {
        var call = toolCalls[delta.index] ?? {
            toolOrder.append(delta.index)
            return ToolCall()
        }()
        if call.id == nil, let id = delta.id, !id.isEmpty { call.id = id }
        if call.name == nil, let name = delta.name, !name.isEmpty { call.name = name }
        if let arguments = delta.arguments, !call.closed { call.pending += arguments }
        toolCalls[delta.index] = call
    }

    /// Streams the open tool call's arguments, and moves on to the next call once the open one is a
    /// complete object: parallel calls whose fragments interleave wait, buffered, for their turn.
    private mutating func pumpToolCalls() {
        while true {
            if case .tool(let index, let upstreamIndex) = open {
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

    private func nextWaitingToolCall() -> Int? {
        toolOrder.first { toolCalls[$0].map { !$0.opened && $0.name != nil } ?? false }
    }

    private mutating func openToolCall(_ upstreamIndex: Int) {
        guard let call = toolCalls[upstreamIndex], let name = call.name else { return }
        openToolBlock(id: call.id, backendName: name)
        toolCalls[upstreamIndex]?.opened = true
        open = .tool(index: nextBlockIndex - 1, upstreamIndex: upstreamIndex)
    }

    private mutating func flushArguments(blockIndex: Int, upstreamIndex: Int) {
        guard var call = toolCalls[upstreamIndex], !call.pending.isEmpty else { return }
        let text = call.arguments.feed(call.pending)
        call.pending = ""
        toolCalls[upstreamIndex] = call
        if !text.isEmpty { events.append(.contentBlockDelta(index: blockIndex, delta: .inputJSON(text))) }
    }

    /// Opens a `tool_use` block (leaving `open` for the caller to set).
    private mutating func openToolBlock(id: String?, backendName: String) {
        closeOpenBlock()
        let blockID = usableToolID(id)
        let index = openBlock(.toolUse(id: blockID, name: context.toolNames.clientName(for: backendName), input: .object([:])))
        open = .tool(index: index, upstreamIndex: -1)
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
            if upstreamIndex >= 0, var call = toolCalls[upstreamIndex] {
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
        events.append(.messageDelta(stopReason: stopReason, stopSequence: stopSequence, usage: finalUsage ?? AnthropicUsage()))
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

    static func anthropicUsage(_ usage: ChatCompletionChunk.Usage) -> AnthropicUsage {
        AnthropicUsage(
            inputTokens: max(0, usage.promptTokens - usage.cachedTokens),
            outputTokens: usage.completionTokens,
            cacheCreationInputTokens: 0,
            cacheReadInputTokens: usage.cachedTokens
        )
    }

    static func isIDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
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
