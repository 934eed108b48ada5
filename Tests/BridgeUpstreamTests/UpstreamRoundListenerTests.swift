// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import Synchronization
import Testing

/// The round listener against a real `UpstreamTransport` and the raw-socket test server: what a sink
/// receives in one round of the curl thread is followed by one round end, so a listener that hands
/// work over per round hands a whole small answer over at once.
@Suite("UpstreamTransport: round listener")
struct UpstreamRoundListenerTests {
    /// Records how many events `sink` had seen at each round end.
    final class RoundMarks: UpstreamRoundListener {
        let sink: RecordingSink
        private let marks = Mutex<[Int]>([])

        init(sink: RecordingSink) {
            self.sink = sink
        }

        func upstreamRoundEnded() {
            let seen = sink.events.count
            marks.withLock { $0.append(seen) }
        }

        var values: [Int] { marks.withLock { $0 } }
    }

    @Test("a response that arrives in one write is head, body and end in one round: no round ends between them")
    func wholeAnswerInOneRound() async {
        let server = TestHTTPServer { _, connection in
            connection.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        let marks = RoundMarks(sink: sink)
        transport.setRoundListener(marks)
        transport.start(UpstreamRequest(url: server.url("/")), sink: sink)

        #expect(await eventually { marks.values.contains(3) })
        #expect(sink.events == [.head(200), .body(5), .completed])
        // A round end seeing the head but not yet the end would be a second hand-off for one answer.
        #expect(!marks.values.contains { $0 == 1 || $0 == 2 }, "round ends saw \(marks.values)")
        transport.shutdown()
        server.stop()
    }

    @Test("a start rejected after shutdown completes its sink and ends a round on the caller's thread")
    func rejectedStartEndsARound() {
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        let marks = RoundMarks(sink: sink)
        transport.setRoundListener(marks)
        transport.shutdown()
        let before = marks.values.count
        transport.start(UpstreamRequest(url: "http://127.0.0.1:9/"), sink: sink)
        #expect(sink.completionCount == 1)
        #expect(marks.values.count == before + 1)
        #expect(marks.values.last == 1)
    }
}
