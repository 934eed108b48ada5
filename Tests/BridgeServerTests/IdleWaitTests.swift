// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Testing
@testable import BridgeServer

/// Drain waits: woken by the end of the last request (no polling), bounded by their deadline.
@Suite(.timeLimit(.minutes(1)))
struct IdleWaitTests {
    private static let never = ContinuousClock.now + .seconds(3600)

    private func begin(_ tracker: RequestTracker, _ id: String) {
        tracker.begin(id, cutter: .init(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), cut: {}))
    }

    @Test func waitingForIdleReturnsWhenTheLastRequestEndsNotWhenTheFirstDoes() async {
        let tracker = RequestTracker()
        begin(tracker, "a")
        begin(tracker, "b")
        let waiter = Task { await tracker.waitUntilIdle(deadline: Self.never) }
        tracker.end("a")
        tracker.end("b")
        // The deadline is an hour away: only the end of "b" can have returned it, with none left.
        #expect(await waiter.value == 0)
    }

    @Test func waitingForIdleReturnsTheRequestsStillRunningAtTheDeadline() async {
        let tracker = RequestTracker()
        begin(tracker, "a")
        begin(tracker, "b")
        tracker.end("a")
        #expect(await tracker.waitUntilIdle(deadline: .now + .milliseconds(50)) == 1)
    }

    @Test func waitingForIdleWithNothingInFlightReturnsAtOnce() async {
        #expect(await RequestTracker().waitUntilIdle(deadline: Self.never) == 0)
    }

    @Test func aWakeWhileTheCountIsNotZeroLeavesTheWaiterParked() async {
        let waiters = IdleWaiters()
        let count = NIOLockedValueBox(2)
        let waiter = Task { await waiters.wait(until: Self.never) { count.withLockedValue { $0 } == 0 } }
        await eventually("the waiter parked") { waiters.count == 1 }
        count.withLockedValue { $0 = 1 }
        waiters.wake()
        await eventually("the waiter parked again") { waiters.count == 1 }
        count.withLockedValue { $0 = 0 }
        waiters.wake()
        await waiter.value
        #expect(waiters.count == 0)
    }

    @Test func aCancelledWaiterReturnsAndLeavesNothingParked() async {
        let waiters = IdleWaiters()
        let waiter = Task { await waiters.wait(until: Self.never) { false } }
        await eventually("the waiter parked") { waiters.count == 1 }
        waiter.cancel()
        await waiter.value
        #expect(waiters.count == 0)
    }

    @Test func aBackendDrainWakesWhenThatBackendsLastRequestEndsWhileOthersRun() async {
        let router = DeploymentRouter()
        let onA = Deployment(model: "m", apiBase: URL(string: "http://127.0.0.1:9/v1")!, apiKey: nil)
        let onB = Deployment(model: "m", apiBase: URL(string: "http://127.0.0.1:10/v1")!, apiKey: nil)
        router.begin(onA)
        router.begin(onB)
        let waiter = Task { await router.waitUntilIdle(backendName: onA.backendName, deadline: Self.never) }
        router.end(onA)
        #expect(await waiter.value == 0)
        #expect(await router.waitUntilIdle(backendName: onB.backendName, deadline: .now + .milliseconds(50)) == 1)
        router.end(onB)
    }
}
