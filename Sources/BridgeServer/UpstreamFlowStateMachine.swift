// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream

/// The flow control of one upstream call, as a value: what the curl thread received and the event
/// loop has not taken yet, how many bytes wait, whether the transfer is paused and whether a delivery
/// task is already on its way. ``UpstreamCall`` keeps it inside a lock and performs what each event
/// returns outside it: schedule a delivery on the loop, answer the transfer's pause, resume it.
///
/// Memory per stream stays bounded whatever the client's speed: past `maximumPendingBytes` (or while
/// the client cannot take bytes) the transfer pauses, and it resumes once half has drained.
struct UpstreamFlowStateMachine {
    /// What the curl thread received, in order; consecutive body bytes share one entry.
    enum Delivery {
        case head(status: Int, headers: [(String, String)])
        case body([UInt8])
        case completed(Result<Void, UpstreamError>)
    }

    /// What to do after something was queued.
    enum QueueAction: Equatable {
        /// A delivery task is already scheduled and will take it.
        case none
        /// Schedule a delivery task on the loop (the first since the last delivery).
        case scheduleDelivery
    }

    /// What the transfer does with body bytes it offered.
    enum BodyAction: Equatable {
        /// Queued: keep reading.
        case accepted(QueueAction)
        /// Refused whole: pause the transfer (it offers the same bytes again once resumed).
        case pause
    }

    /// Whether a paused transfer may read again.
    enum ResumeAction: Equatable {
        case none
        case resume
    }

    /// Bytes handed to the loop but not yet consumed, past which the transfer pauses.
    let maximumPendingBytes: Int
    /// Bytes admitted and not yet consumed by the loop (queued or being consumed).
    private(set) var pendingBytes = 0
    private(set) var paused = false
    private var queued: [Delivery] = []
    private var deliveryScheduled = false

    init(maximumPendingBytes: Int = 256 * 1024) {
        self.maximumPendingBytes = maximumPendingBytes
    }

    /// Curl thread: the status line and headers.
    mutating func headReceived(status: Int, headers: [(String, String)]) -> QueueAction {
        enqueue(.head(status: status, headers: headers))
    }

    /// Curl thread: body bytes, taken whole or refused whole (libcurl's pause contract).
    mutating func bodyReceived(_ bytes: UnsafeRawBufferPointer, clientWritable: Bool) -> BodyAction {
        if pendingBytes >= maximumPendingBytes || !clientWritable {
            paused = true
            return .pause
        }
        pendingBytes += bytes.count
        if case .body(var queuedBytes) = queued.last {
            queued[queued.count - 1] = .body([])  // give up the reference: append in place
            queuedBytes.append(contentsOf: bytes)
            queued[queued.count - 1] = .body(queuedBytes)
        } else {
            queued.append(.body(Array(bytes)))
        }
        return .accepted(claimDelivery())
    }

    /// Curl thread: the transfer ended (exactly once).
    mutating func completed(_ result: Result<Void, UpstreamError>) -> QueueAction {
        enqueue(.completed(result))
    }

    /// Loop: the delivery task runs and takes everything queued, in order.
    mutating func takeDeliveries() -> [Delivery] {
        deliveryScheduled = false
        defer { queued = [] }
        return queued
    }

    /// Loop: the consumer took `count` body bytes.
    mutating func consumed(_ count: Int, clientWritable: Bool) -> ResumeAction {
        pendingBytes -= count
        return resumeIfDrained(clientWritable: clientWritable)
    }

    /// The client's writability changed, or a pause was just decided: resume when both the client and
    /// the queue have room.
    mutating func resumeIfDrained(clientWritable: Bool) -> ResumeAction {
        guard paused, pendingBytes <= maximumPendingBytes / 2, clientWritable else { return .none }
        paused = false
        return .resume
    }

    private mutating func enqueue(_ delivery: Delivery) -> QueueAction {
        queued.append(delivery)
        return claimDelivery()
    }

    private mutating func claimDelivery() -> QueueAction {
        guard !deliveryScheduled else { return .none }
        deliveryScheduled = true
        return .scheduleDelivery
    }
}
