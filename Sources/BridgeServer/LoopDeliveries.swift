// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import NIOConcurrencyHelpers
import NIOCore

/// Hands what the curl thread received to the event loops once per round of the curl loop: every
/// ``UpstreamCall`` that has something to deliver is queued here during the round, and when the
/// round ends each event loop gets one task that delivers to all of its calls. One wake-up per loop
/// per round, however many streams had a token, and a small answer's head, body and end in one task.
final class LoopDeliveries: UpstreamRoundListener {
    /// Filled and emptied on the curl thread (and, for a start rejected at shutdown, on the caller's):
    /// the lock is uncontended in practice and keeps that second case safe.
    private let round = NIOLockedValueBox(DeliveryRound<any EventLoop, UpstreamCall.Delivery>())

    /// Curl thread: `delivery` runs on its loop when this round ends.
    func add(_ delivery: UpstreamCall.Delivery) {
        let loop = delivery.eventLoop
        round.withLockedValue { $0.add(delivery, loop: loop, loopID: ObjectIdentifier(loop)) }
    }

    func upstreamRoundEnded() {
        for group in round.withLockedValue({ $0.take() }) {
            let deliveries = group.items
            group.loop.execute {
                for delivery in deliveries { delivery.run() }
            }
        }
    }
}
