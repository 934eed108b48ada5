// SPDX-License-Identifier: Apache-2.0
import CSystemd
import Glibc

/// Talks to systemd through `sd_notify`: readiness, reload, stop, status and watchdog pings.
/// Without `NOTIFY_SOCKET` (not started by systemd) every call is a no-op.
public enum SystemdNotifier {
    /// Sends a raw notification (`READY=1`, `STATUS=…`); newline-separated assignments allowed.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// Configuration loaded and listeners bound.
    public static func ready(status: String) {
        notify("READY=1\nSTATUS=\(oneLine(status))")
    }

    /// A reload starts; systemd 253+ wants `MONOTONIC_USEC` with it (252 ignores it).
    public static func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())")
    }

    public static func stopping(status: String) {
        notify("STOPPING=1\nSTATUS=\(oneLine(status))")
    }

    public static func status(_ text: String) {
        notify("STATUS=\(oneLine(text))")
    }

    public static func watchdogPing() {
        notify("WATCHDOG=1")
    }

    /// The watchdog interval systemd set for this process (`WATCHDOG_USEC` for our PID), if any.
    public static var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
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
