// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Who may use the control socket")
struct AccessPolicyTests {
    /// A daemon running as uid 120 whose control group is 130.
    let policy = ControlAccessPolicy(daemonUID: 120, allowedGroup: 130)

    func peer(uid: UInt32, gid: UInt32, groups: [UInt32] = []) -> PeerCredentials {
        PeerCredentials(pid: 4242, uid: uid, gid: gid, supplementaryGroups: groups)
    }

    @Test("root is let in whatever its groups")
    func root() {
        #expect(policy.decide(peer(uid: 0, gid: 0)) == .root)
        #expect(policy.decide(peer(uid: 0, gid: 999, groups: [999])) == .root)
    }

    @Test("the daemon's own user is let in")
    func daemonUser() {
        #expect(policy.decide(peer(uid: 120, gid: 500)) == .daemonUser)
    }

    @Test("a member of the group is let in by its primary or a supplementary group")
    func groupMember() {
        #expect(policy.decide(peer(uid: 1000, gid: 130)) == .groupMember)
        #expect(policy.decide(peer(uid: 1000, gid: 1000, groups: [1000, 27, 130])) == .groupMember)
    }

    @Test("trace bodies are for root and the group's members, not for the daemon's user alone")
    func bodies() {
        #expect(policy.mayReadBodies(peer(uid: 0, gid: 0)))
        #expect(policy.mayReadBodies(peer(uid: 1000, gid: 130)))
        #expect(policy.mayReadBodies(peer(uid: 1000, gid: 1000, groups: [1000, 130])))
        #expect(!policy.mayReadBodies(peer(uid: 120, gid: 500)))
        #expect(!policy.mayReadBodies(peer(uid: 1000, gid: 1000, groups: [1000, 27])))
    }

    @Test("anyone else is refused")
    func others() {
        #expect(policy.decide(peer(uid: 1000, gid: 1000, groups: [1000, 27])) == .denied)
        #expect(policy.decide(peer(uid: 65534, gid: 65534)) == .denied)
        #expect(!ControlAccessDecision.denied.isAllowed)
        #expect(ControlAccessDecision.groupMember.isAllowed)
    }

    @Test("without a configured group the daemon's own group is the allowed one")
    func defaultGroup() throws {
        let current = try ControlAccessPolicy.forCurrentProcess(groupName: nil)
        #expect(current == ControlAccessPolicy(daemonUID: UInt32(geteuid()), allowedGroup: UInt32(getegid())))
        #expect(try ControlAccessPolicy.forCurrentProcess(groupName: "root").allowedGroup == 0)
        #expect(throws: ControlServerError.unknownGroup("no-such-group-spark")) {
            try ControlAccessPolicy.forCurrentProcess(groupName: "no-such-group-spark")
        }
    }

    @Test("a user's groups come from the group database; an unknown uid has none")
    func groupLookup() {
        #expect(SystemAccounts.groups(ofUser: 0).contains(0))
        #expect(SystemAccounts.groups(ofUser: 4_000_000_000) == [])
        #expect(SystemAccounts.groupID(named: "root") == 0)
        #expect(SystemAccounts.groupID(named: "no-such-group-spark") == nil)
    }
}
