// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import NIOCore
import Testing
@testable import BridgeServer

/// The connection deadlines of `limits`, driven by events at chosen instants: no sockets, no clocks.
@Suite("connection timeline")
struct ConnectionTimelineTests {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    private var limits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.headerTimeout = .seconds(10)
        limits.bodyTimeout = .seconds(30)
        limits.keepAliveTimeout = .seconds(60)
        limits.requestDeadline = .seconds(100)
        return limits
    }

    private func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test("a new connection that never completes a head is cut at the header timeout, trickle or not")
    func slowlorisCutAtHeaderTimeout() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        #expect(timeline.deadline == at(10))
        for second in 1...9 {
            timeline.bytesReceived(at: at(Int64(second)))
            #expect(timeline.expire(at: at(Int64(second))) == nil)
        }
        #expect(timeline.deadline == at(10))
        #expect(timeline.expire(at: at(10)) == .header)
        #expect(timeline.expire(at: at(11)) == nil, "reported once")
        #expect(timeline.deadline == nil)
    }

    @Test("a body that keeps arriving is not cut; one that pauses longer than the body timeout is")
    func bodyProgress() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.bytesReceived(at: at(1))
        timeline.headReceived(at: at(1))
        for second in stride(from: 20, through: 80, by: 20) {
            #expect(timeline.expire(at: at(Int64(second))) == nil)
            timeline.bytesReceived(at: at(Int64(second)))
        }
        #expect(timeline.deadline == at(1 + 100), "the request deadline, before the body's at 80 + 30")
        #expect(timeline.expire(at: at(99)) == nil)
        #expect(timeline.expire(at: at(101)) == .request, "the request deadline comes first")
        #expect(timeline.expire(at: at(110)) == .body)
        #expect(timeline.expire(at: at(200)) == nil)
    }

    @Test("a read request is timed by the request deadline alone, and an answered one by nothing")
    func requestDeadline() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.headReceived(at: at(0))
        timeline.requestRead(at: at(1))
        #expect(timeline.deadline == at(100))
        #expect(timeline.expire(at: at(100)) == .request)
        #expect(timeline.deadline == nil)

        var answered = ConnectionTimeline(limits: limits, openedAt: start)
        answered.headReceived(at: at(0))
        answered.requestRead(at: at(1))
        answered.answered(at: at(50))
        #expect(answered.deadline == at(50 + 60), "keep-alive from the answer on")
    }

    @Test("without a request deadline, a long answer is never cut")
    func noRequestDeadline() {
        var limits = self.limits
        limits.requestDeadline = nil
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.headReceived(at: at(0))
        timeline.requestRead(at: at(0))
        #expect(timeline.deadline == nil)
        #expect(timeline.expire(at: at(1_000_000)) == nil)
    }

    @Test("a kept-alive connection: idle until the keep-alive timeout, then the header timeout from the next request's first byte")
    func keepAlive() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.headReceived(at: at(1))
        timeline.requestRead(at: at(1))
        timeline.answered(at: at(2))
        #expect(timeline.expire(at: at(61)) == nil)
        timeline.bytesReceived(at: at(61))
        #expect(timeline.deadline == at(71))
        #expect(timeline.expire(at: at(70)) == nil)
        #expect(timeline.expire(at: at(71)) == .header)

        var idle = ConnectionTimeline(limits: limits, openedAt: start)
        idle.headReceived(at: at(1))
        idle.answered(at: at(2))
        idle.requestRead(at: at(3))
        #expect(idle.expire(at: at(62)) == nil)
        #expect(idle.expire(at: at(63)) == .keepAlive)
    }

    @Test("an answer sent before the body is read (401 at the head) still waits for the body, within the body timeout")
    func earlyAnswer() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.headReceived(at: at(0))
        timeline.answered(at: at(0))
        #expect(timeline.deadline == at(30))
        timeline.bytesReceived(at: at(20))
        #expect(timeline.deadline == at(50))
        #expect(timeline.expire(at: at(50)) == .body)
    }

    @Test("bytes of a pipelined request during an answer do not extend anything")
    func pipelinedBytes() {
        var timeline = ConnectionTimeline(limits: limits, openedAt: start)
        timeline.headReceived(at: at(0))
        timeline.requestRead(at: at(0))
        timeline.bytesReceived(at: at(50))
        #expect(timeline.deadline == at(100))
    }
}
