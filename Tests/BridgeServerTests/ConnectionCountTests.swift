// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import BridgeServer

@Suite("connection count")
struct ConnectionCountTests {
    private let start = ContinuousClock.now

    @Test("up to the limit served, then the spare connections, then refused; a close frees a place")
    func admissions() {
        var count = ConnectionCount()
        var admissions: [ConnectionAdmission] = []
        for _ in 0..<6 { admissions.append(count.opened(limit: 3, spare: 2, at: start).0) }
        #expect(admissions == [.serve, .serve, .serve, .spare, .spare, .refuse])
        #expect(count.open == 5, "a refused connection is closed at once, not counted")
        count.closed()
        #expect(count.opened(limit: 3, spare: 2, at: start).0 == .spare, "4 open: still over the limit")
        for _ in 0..<3 { count.closed() }
        #expect(count.open == 2)
        #expect(count.opened(limit: 3, spare: 2, at: start).0 == .serve)
    }

    @Test("reaching the limit is reported at once, then at most once per interval with the count turned away")
    func reports() {
        var count = ConnectionCount()
        #expect(count.opened(limit: 1, spare: 1, at: start).1 == nil)
        #expect(count.opened(limit: 1, spare: 1, at: start).1 == .init(limit: 1, turnedAway: 1))
        for second in 1...5 {
            #expect(count.opened(limit: 1, spare: 1, at: start + .seconds(second)).1 == nil)
        }
        #expect(count.opened(limit: 1, spare: 1, at: start + .seconds(10)).1 == .init(limit: 1, turnedAway: 6))
    }

    @Test("closing more than was opened never goes below zero")
    func neverNegative() {
        var count = ConnectionCount()
        count.closed()
        #expect(count.open == 0)
    }
}
