// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import Testing

/// How one round of the curl thread groups deliveries: one group (one task) per event loop, loops and
/// calls in the order they first received, and an empty round after it is taken.
@Suite("Delivery round")
struct DeliveryRoundTests {
    final class Loop {
        let name: String
        init(_ name: String) { self.name = name }
        var id: ObjectIdentifier { ObjectIdentifier(self) }
    }

    @Test("deliveries for two loops become two groups, each in arrival order")
    func groupsPerLoop() {
        let a = Loop("a"), b = Loop("b")
        var round = DeliveryRound<Loop, Int>()
        round.add(1, loop: a, loopID: a.id)
        round.add(2, loop: b, loopID: b.id)
        round.add(3, loop: a, loopID: a.id)
        round.add(4, loop: a, loopID: a.id)
        round.add(5, loop: b, loopID: b.id)
        let groups = round.take()
        #expect(groups.map(\.loop.name) == ["a", "b"])
        #expect(groups.map(\.items) == [[1, 3, 4], [2, 5]])
    }

    @Test("500 streams on one loop in a round are one group")
    func manyCallsOneGroup() {
        let a = Loop("a")
        var round = DeliveryRound<Loop, Int>()
        for index in 0..<500 { round.add(index, loop: a, loopID: a.id) }
        let groups = round.take()
        #expect(groups.count == 1)
        #expect(groups.first?.items == Array(0..<500))
    }

    @Test("taking a round empties it; a round with nothing added yields no group")
    func takeEmpties() {
        let a = Loop("a")
        var round = DeliveryRound<Loop, Int>()
        #expect(round.take().isEmpty)
        round.add(1, loop: a, loopID: a.id)
        #expect(round.take().count == 1)
        #expect(round.take().isEmpty)
        round.add(2, loop: a, loopID: a.id)
        #expect(round.take().map(\.items) == [[2]])
    }
}
