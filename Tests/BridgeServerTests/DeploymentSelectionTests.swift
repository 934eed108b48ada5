// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Testing
@testable import BridgeServer

/// The pure choice among a pool's deployments under least-busy (the bridge's behaviour before session
/// affinity, unchanged): availability tiers, fewest in flight, ties in turn.
@Suite("deployment selection: least-busy")
struct DeploymentSelectionTests {
    private func candidate(_ name: String, _ availability: DeploymentAvailability = .healthy, inFlight: Int = 0, queued: Int? = nil) -> DeploymentCandidate {
        DeploymentCandidate(backendName: name, availability: availability, inFlight: inFlight, backendQueued: queued)
    }

    @Test("the backend's own running + waiting ranks first: a GPU busy with other clients loses to an idle one")
    func backendQueueRanks() {
        let candidates = [candidate("busy", inFlight: 0, queued: 5), candidate("idle", inFlight: 1, queued: 1)]
        for turn in 0..<4 { #expect(DeploymentSelection.choose(candidates, turn: turn) == 1) }
    }

    @Test("the bridge's own in flight counts when larger than the backend's stale figure, and alone when that is unknown")
    func inFlightWhenLargerOrUnknown() {
        // Both backends reported idle at the last round, but this bridge has since sent 3 to the first.
        let stale = [candidate("a", inFlight: 3, queued: 0), candidate("b", inFlight: 0, queued: 0)]
        #expect(DeploymentSelection.choose(stale, turn: 0) == 1)
        let mixed = [candidate("known", inFlight: 0, queued: 4), candidate("unknown", inFlight: 2)]
        #expect(DeploymentSelection.choose(mixed, turn: 0) == 1)
    }

    @Test("equal backend queues are broken by the bridge's own in flight, then taken in turn")
    func tieBreaks() {
        let candidates = [candidate("a", inFlight: 1, queued: 3), candidate("b", inFlight: 0, queued: 3)]
        #expect(DeploymentSelection.choose(candidates, turn: 0) == 1 && DeploymentSelection.choose(candidates, turn: 1) == 1)
        let even = [candidate("a", queued: 2), candidate("b", queued: 2)]
        #expect((0..<4).map { DeploymentSelection.choose(even, turn: $0) } == [0, 1, 0, 1])
    }

    private enum DeploymentSelection {
        static func choose(_ candidates: [DeploymentCandidate], turn: Int) -> Int? {
            BridgeServer.DeploymentSelection(strategy: .leastBusy).choose(candidates, turn: turn) { nil }?.index
        }

        static func unavailableMessage(alias: String, _ candidates: [DeploymentCandidate]) -> String {
            BridgeServer.DeploymentSelection.unavailableMessage(alias: alias, candidates)
        }
    }

    @Test("the deployment with the fewest requests in flight wins, whatever the turn")
    func leastInFlight() {
        let candidates = [candidate("a", inFlight: 3), candidate("b", inFlight: 1), candidate("c", inFlight: 2)]
        for turn in 0..<5 {
            #expect(DeploymentSelection.choose(candidates, turn: turn) == 1)
        }
    }

    @Test("ties are taken in turn: an idle pool is round-robin, and only the tied ones share")
    func tiesRoundRobin() {
        let idle = [candidate("a"), candidate("b"), candidate("c")]
        #expect((0..<6).map { DeploymentSelection.choose(idle, turn: $0) } == [0, 1, 2, 0, 1, 2])
        let partly = [candidate("a", inFlight: 1), candidate("b"), candidate("c")]
        #expect((0..<4).map { DeploymentSelection.choose(partly, turn: $0) } == [1, 2, 1, 2])
        #expect(DeploymentSelection.choose(idle, turn: Int.min) != nil)
    }

    @Test("down and drained deployments are not chosen while another is available, even when idle")
    func downAndDrainedSkipped() {
        let candidates = [candidate("a", .down(reason: "refused")), candidate("b", .drained), candidate("c", inFlight: 7)]
        for turn in 0..<4 {
            #expect(DeploymentSelection.choose(candidates, turn: turn) == 2)
        }
        #expect(DeploymentSelection.choose([candidate("a", .down(reason: nil)), candidate("b", .suspect, inFlight: 9)], turn: 0) == 1)
    }

    @Test("panic mode: when every deployment not drained is down, the down ones are tried, fewest in flight first")
    func panicMode() {
        let allDown = [candidate("a", .down(reason: "refused"), inFlight: 1), candidate("b", .drained), candidate("c", .down(reason: nil))]
        for turn in 0..<4 {
            #expect(DeploymentSelection.choose(allDown, turn: turn) == 2)
        }
        #expect((0..<4).map { DeploymentSelection.choose([candidate("a", .down(reason: nil)), candidate("b", .down(reason: nil))], turn: $0) } == [0, 1, 0, 1])
    }

    @Test("a suspect deployment is used only when no healthy one is left")
    func suspectLast() {
        #expect(DeploymentSelection.choose([candidate("a", .suspect), candidate("b", inFlight: 9)], turn: 0) == 1)
        #expect(DeploymentSelection.choose([candidate("a", .suspect, inFlight: 2), candidate("b", .down(reason: nil)), candidate("c", .suspect)], turn: 0) == 2)
    }

    @Test("session affinity without a session key routes as least-busy, and says so")
    func affinityWithoutKey() {
        let candidates = [candidate("a", inFlight: 3), candidate("b", inFlight: 1)]
        let decision = BridgeServer.DeploymentSelection(strategy: .sessionAffinity).choose(candidates, turn: 0) { nil }
        #expect(decision == .init(index: 1, route: .leastBusy))
    }

    @Test("nothing available (all drained): nil, and a message naming each backend once")
    func unavailable() {
        let candidates = [candidate("h1:8888", .drained), candidate("h1:8888", .drained), candidate("h2:8888", .drained)]
        #expect(DeploymentSelection.choose(candidates, turn: 0) == nil)
        #expect(DeploymentSelection.choose([], turn: 0) == nil)
        #expect(DeploymentSelection.unavailableMessage(alias: "claude-*", candidates) == "all backends for alias claude-* are drained: h1:8888, h2:8888")
    }
}
