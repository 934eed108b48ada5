// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may use the control socket: root, the daemon's own user, and members of one group.
///
/// The socket file's mode (0660) and group keep others from connecting; this check, on the peer's
/// `SO_PEERCRED` credentials, is the gate that does not depend on file permissions being right.
public struct ControlAccessPolicy: Sendable, Equatable {
    /// The daemon's effective user id.
    public let daemonUID: UInt32
    /// The group whose members are let in (the socket's group).
    public let allowedGroup: UInt32

    /// A policy; `allowedGroup` is a group id.
    public init(daemonUID: UInt32, allowedGroup: UInt32) {
        self.daemonUID = daemonUID
        self.allowedGroup = allowedGroup
    }

    /// The policy for a daemon running as the current process: `groupName` (`control_socket_group`)
    /// resolved, or the process's effective group when nil. Throws when the group does not exist.
    public static func forCurrentProcess(groupName: String?) throws(ControlServerError) -> ControlAccessPolicy {
        var gid = UInt32(getegid())
        if let groupName {
            guard let resolved = SystemAccounts.groupID(named: groupName) else {
                throw .unknownGroup(groupName)
            }
            gid = resolved
        }
        return ControlAccessPolicy(daemonUID: UInt32(geteuid()), allowedGroup: gid)
    }

    /// Whether `peer` may use the socket, and why. Pure: the peer's groups are already in `peer`.
    public func decide(_ peer: PeerCredentials) -> ControlAccessDecision {
        if peer.uid == 0 { return .root }
        if peer.uid == daemonUID { return .daemonUser }
        if peer.gid == allowedGroup || peer.supplementaryGroups.contains(allowedGroup) { return .groupMember }
        return .denied
    }

    /// Whether `peer` may read request and answer bodies (`sparkctl trace --bodies`): root and
    /// members of the allowed group only, not every process of the daemon's own user. The peer's
    /// supplementary groups must be filled in.
    public func mayReadBodies(_ peer: PeerCredentials) -> Bool {
        peer.uid == 0 || peer.gid == allowedGroup || peer.supplementaryGroups.contains(allowedGroup)
    }
}

/// The outcome of `ControlAccessPolicy.decide`.
public enum ControlAccessDecision: Sendable, Equatable {
    /// The peer is root.
    case root
    /// The peer runs as the daemon's user.
    case daemonUser
    /// The peer's primary or a supplementary group is the allowed group.
    case groupMember
    /// None of the above: the request is refused.
    case denied

    /// True unless `.denied`.
    public var isAllowed: Bool { self != .denied }
}

/// Who is at the other end of a control connection.
public struct PeerCredentials: Sendable, Equatable {
    /// The peer's process id at connect time.
    public let pid: Int32
    /// The peer's effective user id.
    public let uid: UInt32
    /// The peer's effective group id.
    public let gid: UInt32
    /// The groups of the peer's user (`getgrouplist`), `gid` included; empty when the user is
    /// unknown or the groups were not looked up.
    public var supplementaryGroups: [UInt32]

    /// Credentials with every field given.
    public init(pid: Int32, uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32]) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
    }
}

/// Lookups in the system's user and group databases (NSS: /etc/passwd, /etc/group, LDAP…).
enum SystemAccounts {
    /// The id of the group called `name`, or nil when there is none.
    static func groupID(named name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status = getgrnam_r(name, &group, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return UInt32(group.gr_gid)
    }

    /// The groups `uid`'s user belongs to (`getgrouplist` over its passwd entry), or `[]` when the
    /// user id has no passwd entry.
    static func groups(ofUser uid: UInt32) -> [UInt32] {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result) == 0, result != nil,
              let name = entry.pw_name
        else { return [] }
        let primary = entry.pw_gid
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let previous = count
            if getgrouplist(name, primary, &groups, &count) >= 0 {
                return groups.prefix(Int(count)).map { UInt32($0) }
            }
            // -1 means the list did not fit; `count` now holds the size needed.
            guard count > previous else { return [] }
        }
    }
}
