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
}

/// One upstream request whose response is handed to a consumer on an event loop, with backpressure:
/// the transfer pauses while the client channel is not writable or too many bytes wait for the loop,
/// and resumes when both have drained. Memory per stream stays bounded whatever the client's speed.
///
/// What the curl thread receives (the head, body bytes, the end) is queued and handed over in batches:
/// it schedules a delivery task on the event loop only when none is pending. A small answer read in one
/// go costs one task (one wake-up of the loop) for head, body and end together, and under load one task
/// (one write and flush to the client) carries every chunk that arrived meanwhile.
final class UpstreamCall: Sendable {
    /// Bytes handed to the event loop but not yet consumed, past which the transfer pauses.
    static let maximumPendingBytes = 256 * 1024

    private struct Flow {
        /// Bytes admitted and not yet consumed by the loop (queued or being consumed).
        var pendingBytes = 0
        var paused = false
        var handle: UpstreamHandle?
        /// What the curl thread received that the loop has not taken yet, in order; consecutive body
        /// bytes share one entry.
        var queued: [Delivery] = []
        /// A delivery task is scheduled on the loop and will take `queued`.
        var deliveryScheduled = false
    }

    private enum Delivery {
        case head(status: Int, headers: [(String, String)])
        case body([UInt8])
        case completed(Result<Void, UpstreamError>)
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
            if case .body(var queuedBytes) = flow.queued.last {
                flow.queued[flow.queued.count - 1] = .body([])  // give up the reference: append in place
                queuedBytes.append(contentsOf: bytes)
                flow.queued[flow.queued.count - 1] = .body(queuedBytes)
            } else {
                flow.queued.append(.body(Array(bytes)))
            }
            return Self.claimDelivery(&flow)
        }
    }

    /// Called on the curl thread: queue the head or the end. Returns whether to schedule a delivery.
    private func enqueue(_ delivery: Delivery) -> Bool {
        flow.withLockedValue { flow in
            flow.queued.append(delivery)
            return Self.claimDelivery(&flow)
        }
    }

    private static func claimDelivery(_ flow: inout Flow) -> Bool {
        guard !flow.deliveryScheduled else { return false }
        flow.deliveryScheduled = true
        return true
    }

    /// On the loop: hands everything queued to the consumer, in order.
    private func deliver(to consumer: NIOLoopBound<any UpstreamConsumer>) {
        let deliveries = flow.withLockedValue { flow in
            flow.deliveryScheduled = false
            defer { flow.queued = [] }
            return flow.queued
        }
        for delivery in deliveries {
            switch delivery {
            case .head(let status, let headers):
                consumer.value.upstreamHead(status: status, headers: headers)
            case .body(let bytes):
                consumer.value.upstreamBody(bytes)
                consumed(bytes.count)
            case .completed(let result):
                consumer.value.upstreamCompleted(result)
            }
        }
    }

    private struct Sink: UpstreamSink {
        let call: UpstreamCall
        let consumer: NIOLoopBound<any UpstreamConsumer>

        private func scheduleDelivery() {
            let consumer = consumer
            let call = call
            call.channel.eventLoop.execute { call.deliver(to: consumer) }
        }

        func receivedHead(status: Int, headers: [(String, String)]) {
            if call.enqueue(.head(status: status, headers: headers)) { scheduleDelivery() }
        }

        func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
            guard let schedule = call.admit(bytes) else {
                // The loop may have drained between the check and the pause: look again.
                call.resumeIfDrained()
                return .pause
            }
            if schedule { scheduleDelivery() }
            return .continue
        }

        func completed(_ result: Result<Void, UpstreamError>) {
            if call.enqueue(.completed(result)) { scheduleDelivery() }
        }
    }
}
