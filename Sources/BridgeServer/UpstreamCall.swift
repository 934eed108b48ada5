// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import NIOConcurrencyHelpers
import NIOCore

/// What consumes one upstream response, on the client connection's event loop.
protocol UpstreamConsumer: AnyObject {
    func upstreamHead(status: Int, headers: [(String, String)])
    /// Body bytes, in order. Returning lets the next bytes flow.
    func upstreamBody(_ bytes: [UInt8])
    func upstreamCompleted(_ result: Result<Void, UpstreamError>)
    /// One delivery task handed over everything that was queued: the moment for one flush of all of it.
    func upstreamDeliveryEnded()
}

/// One upstream request whose response is handed to a consumer on an event loop, with backpressure:
/// the transfer pauses while the client channel is not writable or too many bytes wait for the loop,
/// and resumes when both have drained. Memory per stream stays bounded whatever the client's speed.
///
/// What the curl thread receives (the head, body bytes, the end) is queued and handed over in batches:
/// the call asks ``LoopDeliveries`` for a delivery only when none is pending, and that hands every
/// call's delivery to its event loop when the curl thread's round ends, one task per loop. A small
/// answer read in one go costs one task (one wake-up of the loop) for head, body and end together, and
/// under load one task per loop carries every chunk of every stream that arrived meanwhile (one write
/// and flush per stream).
final class UpstreamCall: Sendable {
    /// Bytes handed to the event loop but not yet consumed, past which the transfer pauses.
    static let maximumPendingBytes = 256 * 1024

    /// The flow machine and the transfer it controls, under one lock.
    private struct Flow {
        var machine = UpstreamFlowStateMachine(maximumPendingBytes: UpstreamCall.maximumPendingBytes)
        var handle: UpstreamHandle?
    }

    /// One call's pending delivery: run on its event loop, it hands everything queued to the consumer.
    struct Delivery: Sendable {
        let call: UpstreamCall
        let consumer: NIOLoopBound<any UpstreamConsumer>

        var eventLoop: any EventLoop { call.channel.eventLoop }

        /// On the loop.
        func run() {
            call.deliver(to: consumer)
        }
    }

    private let channel: any Channel
    private let deliveries: LoopDeliveries
    private let flow = NIOLockedValueBox(Flow())

    private init(channel: any Channel, deliveries: LoopDeliveries) {
        self.channel = channel
        self.deliveries = deliveries
    }

    /// Starts `request` and delivers its response to `consumer` on `channel`'s event loop, through
    /// `deliveries` (the round listener of `transport`).
    static func start(
        _ request: UpstreamRequest, on transport: UpstreamTransport, deliveries: LoopDeliveries, channel: any Channel, consumer: some UpstreamConsumer
    ) -> UpstreamCall {
        channel.eventLoop.preconditionInEventLoop()
        let call = UpstreamCall(channel: channel, deliveries: deliveries)
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
        perform(flow.withLockedValue { ($0.machine.resumeIfDrained(clientWritable: channel.isWritable), $0.handle) })
    }

    private func perform(_ resume: (UpstreamFlowStateMachine.ResumeAction, UpstreamHandle?)) {
        if case .resume = resume.0 { resume.1?.resume() }
    }

    private func schedule(_ action: UpstreamFlowStateMachine.QueueAction, to consumer: NIOLoopBound<any UpstreamConsumer>) {
        guard case .scheduleDelivery = action else { return }
        deliveries.add(Delivery(call: self, consumer: consumer))
    }

    /// On the loop: hands everything queued to the consumer, in order.
    private func deliver(to consumer: NIOLoopBound<any UpstreamConsumer>) {
        for delivery in flow.withLockedValue({ $0.machine.takeDeliveries() }) {
            switch delivery {
            case .head(let status, let headers):
                consumer.value.upstreamHead(status: status, headers: headers)
            case .body(let bytes):
                consumer.value.upstreamBody(bytes)
                perform(flow.withLockedValue { ($0.machine.consumed(bytes.count, clientWritable: channel.isWritable), $0.handle) })
            case .completed(let result):
                consumer.value.upstreamCompleted(result)
            }
        }
        consumer.value.upstreamDeliveryEnded()
    }

    /// The transport's side, on the curl thread: each event goes through the flow machine under the
    /// lock; scheduling, pausing and resuming happen outside it.
    private struct Sink: UpstreamSink {
        let call: UpstreamCall
        let consumer: NIOLoopBound<any UpstreamConsumer>

        func receivedHead(status: Int, headers: [(String, String)]) {
            call.schedule(call.flow.withLockedValue { $0.machine.headReceived(status: status, headers: headers) }, to: consumer)
        }

        func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
            switch call.flow.withLockedValue({ $0.machine.bodyReceived(bytes, clientWritable: call.channel.isWritable) }) {
            case .accepted(let queue):
                call.schedule(queue, to: consumer)
                return .continue
            case .pause:
                // The loop may have drained between the check and the pause: look again.
                call.writabilityChanged()
                return .pause
            }
        }

        func completed(_ result: Result<Void, UpstreamError>) {
            call.schedule(call.flow.withLockedValue { $0.machine.completed(result) }, to: consumer)
        }
    }
}
