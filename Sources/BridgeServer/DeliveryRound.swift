// SPDX-License-Identifier: Apache-2.0
/// The upstream calls that received something during one round of the curl thread, grouped by the
/// event loop that must deliver it, loops and calls in the order they first received: when the round
/// ends each group becomes one task on its loop (see ``LoopDeliveries``). A call appears at most once
/// per round because its flow machine asks for a delivery only when none is pending.
struct DeliveryRound<Loop, Item> {
    struct Group {
        let loop: Loop
        let loopID: ObjectIdentifier
        var items: [Item]
    }

    private var groups: [Group] = []

    /// Adds `item` to the group of `loop` (identified by `loopID`).
    mutating func add(_ item: Item, loop: Loop, loopID: ObjectIdentifier) {
        // A handful of event loops at most (one per core): a scan beats hashing.
        if let index = groups.firstIndex(where: { $0.loopID == loopID }) {
            groups[index].items.append(item)
        } else {
            groups.append(Group(loop: loop, loopID: loopID, items: [item]))
        }
    }

    /// Ends the round: every group, in the order its loop was first seen; the round is empty after.
    mutating func take() -> [Group] {
        defer { groups = [] }
        return groups
    }
}

extension DeliveryRound: Sendable where Loop: Sendable, Item: Sendable {}
extension DeliveryRound.Group: Sendable where Loop: Sendable, Item: Sendable {}
