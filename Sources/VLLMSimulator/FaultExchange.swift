// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// Sends one ``SimFault`` instead of a completion. The stream faults (`endless_data`, `tool_deltas`,
/// `drip`, `reset`) answer with a 200 event stream whether or not the request asked to stream.
///
/// Lives on the channel's event loop only; writes wait for the previous one, so a client that stops
/// reading stops the fault too (the simulator never buffers without bound).
final class FaultExchange {
    /// Tool-call deltas written per batch of `tool_deltas`.
    static let toolDeltasPerWrite = 500

    private let context: ChannelHandlerContext
    private let state: SimulatorState
    private let fault: SimFault
    private let streams: Bool
    private let version: HTTPVersion
    private let keepAlive: Bool
    private let recordID: Int
    private let id = Identifiers.completionID()
    private let created = HTTPDate.unixSeconds()
    private let model: String
    private let onFinished: () -> Void
    private var stopped = false
    private var scheduled: Scheduled<Void>?
    private var dripped = 0
    private var toolDeltasWritten = 0

    init(
        context: ChannelHandlerContext, state: SimulatorState, fault: SimFault, streams: Bool, model: String,
        recordID: Int, version: HTTPVersion, keepAlive: Bool, onFinished: @escaping () -> Void
    ) {
        self.context = context
        self.state = state
        self.fault = fault
        self.streams = streams
        self.model = model
        self.recordID = recordID
        self.version = version
        self.keepAlive = keepAlive
        self.onFinished = onFinished
    }

    func begin() {
        switch fault.kind {
        case .hugeNumbers where streams:
            streamHead()
            write(roleChunk + chunk(#"[{"index":0,"delta":{"content":"ok"},"logprobs":null,"finish_reason":null}]"#)
                + chunk(#"[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}]"#)
                + chunk("[]", usage: SimFault.hugeUsage) + ChunkEncoder.done)
            endStream()
        case .hugeNumbers:
            respond(.ok, "application/json", SimFault.wholeResponse(id: id, created: created, model: model, content: "ok", usage: SimFault.hugeUsage))
        case .hugeContextError where streams:
            streamHead()
            write(roleChunk + ChunkEncoder.errorEvent(SimFault.hugeContextError, format: state.configuration.errorFormat) + ChunkEncoder.done)
            endStream()
        case .hugeContextError:
            respond(.badRequest, "application/json", SimFault.hugeContextError.body(format: state.configuration.errorFormat))
        case .html200:
            respond(.ok, "text/html; charset=utf-8", SimFault.htmlPage)
        case .endlessData:
            streamHead()
            writeEndlessLine()
        case .toolDeltas:
            streamHead()
            write(roleChunk)
            writeToolDeltas()
        case .drip:
            streamHead()
            dripByte()
        case .reset:
            streamHead()
            write(roleChunk).assumeIsolated().whenComplete { [self] _ in reset() }
        }
    }

    /// The client went away (or a write to it failed): stop writing, and log the request as aborted.
    func clientClosed() {
        guard !stopped else { return }
        state.update(recordID) { if !$0.completed { $0.aborted = true } }
        scheduled?.cancel()
        scheduled = nil
        finish()
    }

    // MARK: Faults

    private func writeEndlessLine() {
        guard !stopped else { return }
        write(SimFault.endlessLine).assumeIsolated().whenComplete { [self] result in
            if case .success = result { writeEndlessLine() } else { clientClosed() }
        }
    }

    private func writeToolDeltas() {
        guard !stopped else { return }
        var bytes: [UInt8] = []
        let end = min(fault.count, toolDeltasWritten + Self.toolDeltasPerWrite)
        for index in toolDeltasWritten..<end {
            bytes += chunk(#"[{"index":0,"delta":{"tool_calls":[{"index":\#(index),"function":{"arguments":"{\"n\":\#(index)}"}}]},"logprobs":null,"finish_reason":null}]"#)
        }
        toolDeltasWritten = end
        if end == fault.count {
            bytes += chunk(#"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}]"#)
                + chunk("[]", usage: #"{"prompt_tokens":5,"total_tokens":6,"completion_tokens":1}"#) + ChunkEncoder.done
            write(bytes)
            endStream()
            return
        }
        write(bytes).assumeIsolated().whenComplete { [self] result in
            if case .success = result { writeToolDeltas() } else { clientClosed() }
        }
    }

    /// One byte of an endless valid stream: the role chunk, then `x` content chunks forever.
    private func dripByte() {
        guard !stopped else { return }
        let role = roleChunk
        let content = chunk(#"[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]"#)
        let byte = dripped < role.count ? role[dripped] : content[(dripped - role.count) % content.count]
        dripped += 1
        write([byte])
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(fault.intervalMilliseconds))) { [self] in dripByte() }
    }

    /// Closes the connection with a TCP reset (SO_LINGER 0) instead of an orderly end.
    private func reset() {
        let channel = context.channel
        guard let provider = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            finish()
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        finish()
    }

    // MARK: Writing

    private var roleChunk: [UInt8] {
        chunk(#"[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]"#)
    }

    private func chunk(_ choices: String, usage: String? = nil) -> [UInt8] {
        SimFault.chunk(id: id, created: created, model: model, choices: choices, usage: usage)
    }

    private func streamHead() {
        let head = HTTPResponder.head(version: version, status: .ok, contentType: "text/event-stream; charset=utf-8", contentLength: nil, keepAlive: keepAlive && version.minor > 0)
        state.update(recordID) { $0.status = 200 }
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    }

    @discardableResult
    private func write(_ bytes: [UInt8]) -> EventLoopFuture<Void> {
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))))
    }

    private func endStream() {
        let context = context
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive || version.minor == 0 { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        finish()
    }

    private func respond(_ status: HTTPResponseStatus, _ contentType: String, _ body: [UInt8]) {
        HTTPResponder.respond(
            context: context, state: state, recordID: recordID, version: version, status: status,
            contentType: contentType, body: body, keepAlive: keepAlive
        )
        finish()
    }

    private func finish() {
        guard !stopped else { return }
        stopped = true
        onFinished()
    }
}
