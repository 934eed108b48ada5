// SPDX-License-Identifier: Apache-2.0
import Foundation
import LoadGenerator

extension BenchReport {
    /// Hand-offs a request through spark-bridge makes beyond the direct path's two (client → backend,
    /// backend → client): client → event loop → curl thread → backend, and back the same way.
    static let extraHandOffs = 4

    /// A path's CPU per completed request at c=1 in `levels`, in microseconds.
    private static func cpuPerRequestAtOne(_ levels: [LoadLevel], _ kind: PathKind) -> Double? {
        guard let measurement = levels.first(where: { $0.concurrency == 1 })?.measurements[kind] else { return nil }
        return measurement.proxy?.microseconds(per: measurement.result.completed)
    }

    /// Added p50 latency at c=1 in `levels`, in milliseconds.
    private static func addedP50AtOne(_ levels: [LoadLevel]) -> Double? {
        guard let level = levels.first(where: { $0.concurrency == 1 }),
              let direct = level.measurements[.direct]?.result, let bridge = level.measurements[.bridge]?.result else { return nil }
        return Double(bridge.total.p50 - direct.total.p50) / 1e6
    }

    /// Section 1c: what a lone request costs on a machine its backend's wait left idle, from 1a and 1b at
    /// c=1 and the hand-off cost measured in the same run.
    func loneRequestMarkdown() -> String {
        guard let wakeup, let idleAdded = Self.addedP50AtOne(smallTimed), let busyAdded = Self.addedP50AtOne(smallInstant) else { return "" }
        var out = "\n### 1c. A lone request on an idle machine\n\n"
        out += "At c=1 with the \(plan.smallTTFTMilliseconds) ms backend every thread of every process sleeps through the backend's wait, "
        out += "and the request's work then runs on CPUs that have gone idle. spark-bridge adds **\(Self.format(idleAdded)) ms** at p50 there (1a), "
        out += "against \(Self.format(busyAdded)) ms when requests follow each other at once (1b). Measured in this run:\n\n"
        out += "| | requests back to back (1b, c=1) | after the backend's \(plan.smallTTFTMilliseconds) ms (1a, c=1) | ratio |\n|---|---:|---:|---:|\n"
        let idleHandOff = WakeupCost.microseconds(wakeup.afterIdle.p50)
        let busyHandOff = wakeup.microsecondsPerRoundTrip / 2
        out += String(format: "| one thread hand-off (`spark-bench --scenario wakeup`), µs | %.1f | %.1f (p90 %.1f) | %.2f× |\n",
                      busyHandOff, idleHandOff, WakeupCost.microseconds(wakeup.afterIdle.p90), idleHandOff / busyHandOff)
        var coldFactors: [String] = []
        for (kind, name) in [(PathKind.direct, "vllm-sim"), (.bridge, "spark-bridge")] {
            guard let busy = Self.cpuPerRequestAtOne(smallInstant, kind), let idle = Self.cpuPerRequestAtOne(smallTimed, kind), busy > 0 else { continue }
            out += String(format: "| %@ CPU per request (user + system, `/proc/PID/stat`), µs | %.0f | %.0f | %.2f× |\n", name, busy, idle, idle / busy)
            coldFactors.append(String(format: "%@ %.2f×", name, idle / busy))
        }
        let handOffs = Double(Self.extraHandOffs) * idleHandOff / 1e3
        out += "\nA request through the bridge makes \(Self.extraHandOffs) thread hand-offs more than a direct one; at the after-idle cost measured "
        out += String(format: "above they account for %.2f ms of the %.2f ms: waking a sleeping thread is not what is slow here. ", handOffs, idleAdded)
        if !coldFactors.isEmpty {
            out += "What is: the same work costs more CPU when it finds the machine idle (\(coldFactors.joined(separator: ", ")) in this run), "
            out += "as caches, TLBs and branch predictors have gone cold and, on a VM, the vCPU must be woken too. The bridge's work for a "
            out += "request lies on that request's path, so this figure falls with fewer instructions per request (section 6), not with "
            out += "fewer wake-ups.\n"
        }
        return out
    }
}
