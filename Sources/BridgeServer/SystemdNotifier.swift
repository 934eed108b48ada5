// SPDX-License-Identifier: Apache-2.0
import CSystemd
import Glibc

/// Talks to systemd through `sd_notify`: readiness, reload, stop, status and watchdog pings.
/// Without `NOTIFY_SOCKET` (not started by systemd) every notification is a no-op.
///
/// A value, so the daemon's services take it as a parameter: ``system`` in the daemon, a recorder in
/// tests that check what would have been sent and in what order.
public struct SystemdNotifier: Sendable {
    /// Sends one notification (newline-separated assignments).
    private let send: @Sendable (String) -> Void
    /// The watchdog interval systemd set for this process, if any.
    public let watchdogInterval: Duration?

    /// A notifier that hands each notification to `send`.
    public init(watchdogInterval: Duration? = nil, send: @escaping @Sendable (String) -> Void) {
        self.watchdogInterval = watchdogInterval
        self.send = send
    }

    /// The real one: `sd_notify` to `NOTIFY_SOCKET`, the interval from `WATCHDOG_USEC` for our PID.
    public static var system: SystemdNotifier {
        var microseconds: UInt64 = 0
        let enabled = sd_watchdog_enabled(0, &microseconds) > 0 && microseconds > 0
        return SystemdNotifier(watchdogInterval: enabled ? .microseconds(Int64(microseconds)) : nil) { state in
            _ = sd_notify(0, state)
        }
    }

    /// Sends a raw notification (`READY=1`, `STATUS=…`); newline-separated assignments allowed.
    public func notify(_ state: String) {
        send(state)
    }

    /// Configuration loaded and listeners bound.
    public func ready(status: String) {
        notify("READY=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// A reload starts; systemd 253+ wants `MONOTONIC_USEC` with it (252 ignores it).
    public func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// Shutdown starts.
    public func stopping(status: String) {
        notify("STOPPING=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// A new `systemctl status` line.
    public func status(_ text: String) {
        notify("STATUS=\(Self.oneLine(text))")
    }

    /// The event loops are alive.
    public func watchdogPing() {
        notify("WATCHDOG=1")
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" ? " " : $0 })
    }
}

/// Listening sockets passed by systemd socket activation (`LISTEN_FDS`, names from
/// `FileDescriptorName=`).
public struct ActivatedSockets: Sendable {
    public struct Socket: Sendable {
        public let fd: Int32
        public let name: String
    }

    public let sockets: [Socket]

    /// Takes the passed sockets (and unsets the `LISTEN_*` variables so children don't see them).
    public static func take() -> ActivatedSockets {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return ActivatedSockets(sockets: []) }
        var sockets: [Socket] = []
        for offset in 0..<Int(count) {
            let name = names?[offset].map { String(cString: $0) } ?? "unknown"
            sockets.append(Socket(fd: SD_LISTEN_FDS_START + Int32(offset), name: name))
            free(names?[offset])
        }
        free(names)
        return ActivatedSockets(sockets: sockets)
    }
}
