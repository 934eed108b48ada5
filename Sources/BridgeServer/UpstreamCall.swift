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
///
/// Body bytes are queued and handed over in batches: the curl thread schedules a delivery on the event
/// loop only when none is pending, so under load one task (and one write and flush to the client)
/// carries every chunk that arrived meanwhile, instead of a task per chunk.
final class UpstreamCall: Sendable {
    /// Bytes handed to the event loop but not yet consumed, past which the transfer pauses.
    static let maximumPendingBytes = 256 * 1024

    private struct Flow {
        /// Bytes admitted and not yet consumed by the loop (queued or being consumed).
        var pendingBytes = 0
        var paused = false
        var handle: UpstreamHandle?
        /// Bytes received on the curl thread that the loop has not taken yet.
        var queued: [UInt8] = []
        /// A delivery task is scheduled on the loop and will take `queued`.
        var deliveryScheduled = false
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

    /// Called on the curl thread: queue the bytes, or refuse them all and pause. Returns nil when refused,
    /// else whether the caller must schedule a delivery.
    private func admit(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        flow.withLockedValue { flow in
            if flow.pendingBytes >= Self.maximumPendingBytes || !channel.isWritable {
                flow.paused = true
                return nil
            }
            flow.pendingBytes += bytes.count
            flow.queued.append(contentsOf: bytes)
            guard !flow.deliveryScheduled else { return false }
            flow.deliveryScheduled = true
            return true
        }
    }

    /// On the loop: hands everything queued to the consumer.
    private func deliver(to consumer: NIOLoopBound<any UpstreamConsumer>) {
        let bytes = flow.withLockedValue { flow in
            flow.deliveryScheduled = false
            defer { flow.queued = [] }
            return flow.queued
        }
        guard !bytes.isEmpty else { return }
        consumer.value.upstreamBody(bytes)
        consumed(bytes.count)
    }

    private struct Sink: UpstreamSink {
        let call: UpstreamCall
        let consumer: NIOLoopBound<any UpstreamConsumer>

        func receivedHead(status: Int, headers: [(String, String)]) {
            let consumer = consumer
            call.channel.eventLoop.execute { consumer.value.upstreamHead(status: status, headers: headers) }
        }

        func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
            guard let schedule = call.admit(bytes) else {
                // The loop may have drained between the check and the pause: look again.
                call.resumeIfDrained()
                return .pause
            }
            if schedule {
                let consumer = consumer
                let call = call
                call.channel.eventLoop.execute { call.deliver(to: consumer) }
            }
            return .continue
        }

        func completed(_ result: Result<Void, UpstreamError>) {
            let consumer = consumer
            let call = call
            call.channel.eventLoop.execute {
                // Any delivery scheduled earlier ran first (tasks run in order); this takes what is left.
                call.deliver(to: consumer)
                consumer.value.upstreamCompleted(result)
            }
        }
    }
}
