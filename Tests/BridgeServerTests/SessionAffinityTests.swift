// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeCore
import Foundation
import Testing
@testable import BridgeServer

/// Session affinity as a pure choice: rendezvous hashing of (session key, deployment identity) with
/// bounded loads, and round-robin. No sockets: candidates in, a decision out.
@Suite("deployment selection: session affinity and round-robin")
struct SessionAffinityTests {
    private static let affinity = DeploymentSelection(strategy: .sessionAffinity, loadFactor: 0.25, maxWaiting: 4)

    private static func deployment(_ port: Int, model: String = "Qwen/Qwen3-Coder-30B-A3B-Instruct", timeout: Duration? = nil) -> Deployment {
        Deployment(model: model, apiBase: URL(string: "http://127.0.0.1:\(port)/v1")!, apiKey: nil, timeout: timeout)
    }

    /// The candidates the router would make of `deployments`, idle and healthy unless `tune` says otherwise.
    private static func candidates(_ deployments: [Deployment], tune: (Int, inout DeploymentCandidate) -> Void = { _, _ in }) -> [DeploymentCandidate] {
        deployments.enumerated().map { index, deployment in
            var candidate = DeploymentCandidate(backendName: deployment.backendName, availability: .healthy, inFlight: 0, identity: DeploymentSelection.identity(of: deployment))
            tune(index, &candidate)
            return candidate
        }
    }

    /// The deployment `key` goes to among `deployments`.
    private static func home(_ key: SessionKey, _ deployments: [Deployment], tune: (Int, inout DeploymentCandidate) -> Void = { _, _ in }) -> Deployment? {
        affinity.choose(candidates(deployments, tune: tune), turn: 0) { key }.map { deployments[$0.index] }
    }

    private static let keys = (0..<1000).map { SessionKey(sessionID: "session-\($0)")! }
    private static let four = [8001, 8002, 8003, 8004].map { deployment($0) }

    @Test("the same session id lands on the same deployment across 100 requests, whatever the turn")
    func sameKeySameDeployment() throws {
        let key = try #require(SessionKey(sessionID: "0b6e3da1-3bc3-44d2-875b-2a9146dddd15"))
        let pool = Self.candidates(Self.four)
        let decisions = (0..<100).compactMap { Self.affinity.choose(pool, turn: $0) { key } }
        #expect(decisions.count == 100)
        #expect(Set(decisions.map(\.index)).count == 1)
        #expect(decisions.allSatisfy { $0.route == .affinity })
    }

    @Test("different sessions spread over every deployment, each within a few points of its share")
    func sessionsSpread() {
        var counts: [String: Int] = [:]
        for key in Self.keys { counts[Self.home(key, Self.four)!.backendName, default: 0] += 1 }
        #expect(counts.count == 4)
        #expect(counts.values.allSatisfy { (200...300).contains($0) }, "\(counts)")
    }

    @Test("identity is api_base + model: a reload that reorders the pool, changes keys and timeouts, keeps every session's deployment")
    func stableAcrossReload() throws {
        let reloaded = [Self.deployment(8003, timeout: .seconds(900)), Self.deployment(8001), Self.deployment(8004), Self.deployment(8002)]
        for key in Self.keys {
            #expect(Self.home(key, Self.four)?.apiBase == Self.home(key, reloaded)?.apiBase)
        }
        // A deployment added by a reload takes only sessions for itself; no other session moves.
        let grown = Self.four + [Self.deployment(8005)]
        var moved = 0
        for key in Self.keys where Self.home(key, grown)?.apiBase != Self.home(key, Self.four)?.apiBase {
            #expect(Self.home(key, grown)?.apiBase == grown[4].apiBase)
            moved += 1
        }
        #expect((150...250).contains(moved), "about a fifth of the sessions move to the new deployment, \(moved) did")
        // Another model on the same backend is another deployment.
        #expect(DeploymentSelection.identity(of: Self.deployment(8001)) != DeploymentSelection.identity(of: Self.deployment(8001, model: "other")))
    }

    @Test("a deployment that goes down moves only its own sessions: over 1,000 keys the moved fraction is its share")
    func downMovesOnlyItsSessions() {
        let before = Self.keys.map { Self.home($0, Self.four)!.backendName }
        let downed = Self.four[2].backendName
        let after = Self.keys.map { key in
            Self.home(key, Self.four) { index, candidate in if index == 2 { candidate.availability = .down(reason: "refused") } }!.backendName
        }
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.0 == downed }, "only sessions of the downed deployment move")
        #expect(moved.count == before.filter { $0 == downed }.count, "every one of its sessions moves")
        let fraction = Double(moved.count) / Double(Self.keys.count)
        #expect(abs(fraction - 0.25) < 0.05, "moved \(fraction), its share is 0.25")
        // Drained is the same: its sessions go to their next deployment, the others stay.
        let drained = Self.keys.map { key in
            Self.home(key, Self.four) { index, candidate in if index == 2 { candidate.availability = .drained } }!.backendName
        }
        #expect(drained == after)
    }

    @Test("the load bound spills: a session's deployment over ⌈(1+ε)·average⌉ passes it to the session's next one")
    func loadBoundSpills() throws {
        let key = try #require(SessionKey(sessionID: "busy-session"))
        let pair = [Self.deployment(8001), Self.deployment(8002)]
        let homeIndex = try #require(Self.affinity.choose(Self.candidates(pair), turn: 0) { key }).index
        // One in flight at home, none elsewhere: with this one, 2 ≤ ⌈1.25·2/2⌉ = 2: stays.
        let one = Self.affinity.choose(Self.candidates(pair) { if $0 == homeIndex { $1.inFlight = 1 } }, turn: 0) { key }
        #expect(one == .init(index: homeIndex, route: .affinity))
        // Two at home: 3 > ⌈1.25·3/2⌉ = 2: spills to the other deployment.
        let two = Self.affinity.choose(Self.candidates(pair) { if $0 == homeIndex { $1.inFlight = 2 } }, turn: 0) { key }
        #expect(two == .init(index: 1 - homeIndex, route: .spilled))
        // A looser bound (ε = 1) keeps it home: 3 ≤ ⌈2·3/2⌉ = 3.
        let loose = DeploymentSelection(strategy: .sessionAffinity, loadFactor: 1, maxWaiting: 4)
        #expect(loose.choose(Self.candidates(pair) { if $0 == homeIndex { $1.inFlight = 2 } }, turn: 0) { key }?.route == .affinity)
        #expect(Self.affinity.loadBound(0, deployments: 4) == 1)
        #expect(Self.affinity.loadBound(7, deployments: 4) == 3)
        #expect(Self.affinity.loadBound(Int.max - 1, deployments: 1) == Int.max)
    }

    @Test("a backend queue over the waiting threshold spills; every queue over it stays home, within the load bound")
    func waitingThreshold() throws {
        let key = try #require(SessionKey(sessionID: "queued-session"))
        let pair = [Self.deployment(8001), Self.deployment(8002)]
        let homeIndex = try #require(Self.affinity.choose(Self.candidates(pair), turn: 0) { key }).index
        let atThreshold = Self.affinity.choose(Self.candidates(pair) { if $0 == homeIndex { $1.waiting = 4 } }, turn: 0) { key }
        #expect(atThreshold == .init(index: homeIndex, route: .affinity))
        let over = Self.affinity.choose(Self.candidates(pair) { if $0 == homeIndex { $1.waiting = 5 } }, turn: 0) { key }
        #expect(over == .init(index: 1 - homeIndex, route: .spilled))
        let everywhere = Self.affinity.choose(Self.candidates(pair) { $1.waiting = 9 }, turn: 0) { key }
        #expect(everywhere == .init(index: homeIndex, route: .saturated))
        let unknown = Self.affinity.choose(Self.candidates(pair) { $1.waiting = nil }, turn: 0) { key }
        #expect(unknown == .init(index: homeIndex, route: .affinity))
    }

    @Test("panic mode keeps affinity: with every deployment down, each session still goes to its own")
    func panicKeepsAffinity() {
        for key in Self.keys.prefix(100) {
            let down = Self.home(key, Self.four) { $1.availability = .down(reason: nil) }
            #expect(down?.apiBase == Self.home(key, Self.four)?.apiBase)
        }
    }

    @Test("the session key is asked for only when there is a choice to make")
    func keyOnlyWhenNeeded() {
        var asked = 0
        let single = Self.affinity.choose(Self.candidates([Self.deployment(8001)]), turn: 0) { asked += 1; return nil }
        #expect(single == .init(index: 0, route: .only))
        let oneLeft = Self.affinity.choose(Self.candidates(Self.four) { if $0 != 3 { $1.availability = .drained } }, turn: 0) { asked += 1; return nil }
        #expect(oneLeft == .init(index: 3, route: .only))
        #expect(asked == 0)
        _ = Self.affinity.choose(Self.candidates(Self.four), turn: 0) { asked += 1; return nil }
        #expect(asked == 1)
    }

    @Test("round-robin cycles through the usable deployments whatever their load, skipping down and drained ones")
    func roundRobinCycles() {
        let roundRobin = DeploymentSelection(strategy: .roundRobin)
        let pool = Self.candidates(Self.four) { index, candidate in candidate.inFlight = index * 10 }
        #expect((0..<8).map { roundRobin.choose(pool, turn: $0) { nil }?.index } == [0, 1, 2, 3, 0, 1, 2, 3])
        #expect(roundRobin.choose(pool, turn: 1) { nil }?.route == .roundRobin)
        let partly = Self.candidates(Self.four) { index, candidate in if index == 1 { candidate.availability = .down(reason: nil) } }
        #expect((0..<6).map { roundRobin.choose(partly, turn: $0) { nil }?.index } == [0, 2, 3, 0, 2, 3])
    }

    @Test("the strategy is the alias's own, else the default")
    func strategyPerAlias() {
        var settings = RoutingSettings()
        settings.aliases["claude-*haiku*"] = .roundRobin
        #expect(DeploymentSelection(alias: "claude-*haiku*", settings: settings).strategy == .roundRobin)
        #expect(DeploymentSelection(alias: "claude-sonnet-*", settings: settings).strategy == .sessionAffinity)
    }
}
