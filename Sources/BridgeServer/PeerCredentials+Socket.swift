// SPDX-License-Identifier: Apache-2.0
import NIOCore

#if canImport(Glibc)
import Glibc

/// Linux's `struct ucred` (`pid_t pid; uid_t uid; gid_t gid;`), which the Glibc module does not
/// export. Swift lays out a struct's stored properties in declaration order with C alignment, so
/// three 4-byte fields match the C struct; `credentials(of:)` checks the size before use.
private struct UCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
#endif

extension PeerCredentials {
    /// The credentials of the process at the other end of a Unix socket channel (`SO_PEERCRED`),
    /// without supplementary groups (looking them up may block on NSS, which has no place on an
    /// event loop); nil when the channel cannot tell (not a Unix socket, not Linux).
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        #if canImport(Glibc)
        guard MemoryLayout<UCred>.size == 12, let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let raw: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
        )
        return raw.map { cred in
            PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid, supplementaryGroups: [])
        }.recover { _ in nil }
        #else
        return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }
}
