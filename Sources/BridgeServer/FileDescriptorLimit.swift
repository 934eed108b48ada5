// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import Glibc

/// The process's open-file limit against `limits.max_connections`: every client connection may hold
/// a backend connection too, and the listeners, the control socket, health probes and the journal
/// need a few more. The soft limit is raised toward the hard one when that is short (a shell's
/// default soft limit is 1024); what is still short is reported so the operator can act.
enum FileDescriptorLimit {
    /// Descriptors beyond two per client connection: listeners, control socket, probes, journal, files.
    static let reserve = 64

    /// Descriptors `limits` may need at most.
    static func needed(for limits: ConnectionLimits) -> Int {
        2 * (limits.maxConnections + ConnectionLimits.spareConnections) + reserve
    }

    /// Raises the soft limit toward `needed(for:)` (never above the hard limit, never lowering it);
    /// returns a warning when the limit stays short, nil when it is enough.
    static func ensure(for limits: ConnectionLimits) -> String? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let needed = rlim_t(needed(for: limits))
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, needed)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur < needed else { return nil }
        return "limits.max_connections is \(limits.maxConnections) but the open-file limit is \(limit.rlim_cur) (hard \(limit.rlim_max)); "
            + "up to \(needed) may be needed (a client and a backend connection each): raise LimitNOFILE or lower limits.max_connections"
    }
}
