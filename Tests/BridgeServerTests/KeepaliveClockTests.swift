// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import Testing

@Suite("Keep-alive pings")
struct KeepaliveClockTests {
    /// The decisions of `ticks` ticks, each after the given number of writes, with the client reading or not.
    static func run(_ ticks: [(writes: Int, writable: Bool)]) -> (decisions: [Bool], pings: Int) {
        var clock = KeepaliveClock()
        var decisions: [Bool] = []
        for tick in ticks {
            for _ in 0..<tick.writes { clock.wrote() }
            decisions.append(clock.tick(clientWritable: tick.writable))
        }
        return (decisions, clock.pings)
    }

    @Test("a silent stream gets a ping at every tick, before any event too")
    func silence() {
        let result = Self.run([(0, true), (0, true)])
        #expect(result.decisions == [true, true] && result.pings == 2)
    }

    @Test("a tick after an event sends nothing; the next silent one does")
    func eventsSuppress() {
        let result = Self.run([(1, true), (0, true), (2, true)])
        #expect(result.decisions == [false, true, false] && result.pings == 1)
    }

    @Test("a client that is not reading gets no ping")
    func notReading() {
        let result = Self.run([(0, false), (0, false), (0, true)])
        #expect(result.decisions == [false, false, true] && result.pings == 1)
    }
}
