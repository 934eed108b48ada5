import BridgeUpstream
import NIOConcurrencyHelpers
import NIOCore

/// What consumes one upstream response, on the client connection's event loop.
protocol UpstreamConsumer: AnyObject {
    func upstreamHead(status: Int, headers: [(String, String)])
    /// Body bytes, in order. Returning lets the next bytes flow.
    func upstreamBody(_ bytes: [UInt8])
    func upstreamCompleted(_ result: Result<Void, UpstreamError>)
}

/// One upstream request whose response is handed to a consumer on an event loop, with backpressure:
/// the transfer pauses while the client channel is not writable or too many bytes wait for the loop,
/// and resumes when both have drained. Memory per stream stays bounded whatever the client's speed.
final class UpstreamCall: Sendable {
    /// Bytes handed to the event loop but not yet consumed, past which the transfer pauses.
    static let maximumPendingBytes = 256 * 1024

    private struct Flow {
        var pendingBytes = 0
        var paused = false
        var handle: UpstreamHandle?
    }

    private let channel: any Channel
    private let flow = NIOLockedValueBox(Flow())

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Starts `request` and delivers its response to `consumer` on `channel`'s event loop.
    static func start(
        _ request: UpstreamRequest, on transport: UpstreamTransport, channel: any Channel, consumer: some UpstreamConsumer
    ) -> UpstreamCall {
        channel.eventLoop.preconditionInEventLoop()
        let call = UpstreamCall(channel: channel)
        let sink = Sink(call: call, consumer: NIOLoopBound(consumer, eventLoop: channel.eventLoop))
        let handle = transport.start(request, sink: sink)
        call.flow.withLockedValue { $0.handle = handle }
        return call
    }

    /// Stops the upstream request (the client went away): the backend connection is closed, which
    /// makes vLLM abort the generation and free its slot.
    func cancel() {
        flow.withLockedValue { $0.handle }?.cancel()
    }

    /// The client channel's writability changed: resume a transfer paused for it.
    func writabilityChanged() {
        resumeIfDrained()
    }

    private func consumed(_ count: Int) {
        flow.withLockedValue { $0.pendingBytes -= count }
        resumeIfDrained()
    }

    private func resumeIfDrained() {
        let handle: UpstreamHandle? = flow.withLockedValue { flow in
            guard flow.paused, flow.pendingBytes <= Self.maximumPendingBytes / 2, channel.isWritable else { return nil }
            flow.paused = false
            return flow.handle
        }
        handle?.resume()
    }

    /// Called on the curl thread: take the bytes, or refuse them all and pause.
    private func admit(_ count: Int) -> Bool {
        flow.withLockedValue { flow in
            if flow.pendingBytes >= Self.maximumPendingBytes || !channel.isWritable {
                flow.paused = true
                return false
            }
            flow.pendingBytes += count
            return true
        }
    }

    private struct Sink: UpstreamSink {
        let call: UpstreamCall
        let consumer: NIOLoopBound<any UpstreamConsumer>

        func receivedHead(status: Int, headers: [(String, String)]) {
            let consumer = consumer
            call.channel.eventLoop.execute { consumer.value.upstreamHead(status: status, headers: headers) }
        }

        func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
            guard call.admit(bytes.count) else {
                // The loop may have drained between the check and the pause: look again.
                call.resumeIfDrained()
                return .pause
            }
            let copy = [UInt8](bytes)
            let consumer = consumer
            let call = call
            call.channel.eventLoop.execute {
                consumer.value.upstreamBody(copy)
                call.consumed(copy.count)
            }
            return .continue
        }

        func completed(_ result: Result<Void, UpstreamError>) {
            let consumer = consumer
            call.channel.eventLoop.execute { consumer.value.upstreamCompleted(result) }
        }
    }
}
