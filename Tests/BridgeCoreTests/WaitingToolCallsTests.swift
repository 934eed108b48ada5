// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import BridgeCore

@Suite("Waiting tool calls: the earliest named call first")
struct WaitingToolCallsTests {
    @Test("positions come out in ascending order whatever order they went in, interleaved with removals")
    func ascendingOrder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var queue = WaitingToolCalls()
            var expected: [Int] = []
            var taken: [Int] = []
            for position in Array(0..<500).shuffled(using: &generator) {
                queue.insert(position)
                expected.append(position)
                if position % 7 == 0, let first = queue.removeFirst() {
                    #expect(first == expected.min())
                    expected.removeAll { $0 == first }
                    taken.append(first)
                }
            }
            var drained: [Int] = []
            while let first = queue.first {
                #expect(queue.removeFirst() == first)
                drained.append(first)
            }
            #expect(drained == expected.sorted())
            taken += drained
            #expect(queue.isEmpty)
            #expect(taken.count == 500 && Set(taken).count == 500)
        }
    }
}
