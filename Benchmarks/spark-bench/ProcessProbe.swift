// SPDX-License-Identifier: Apache-2.0
import Foundation

/// CPU time and memory of a process and its descendants, read from `/proc` as `top` would.
struct ProcessProbe: Sendable {
    /// The root of the tree.
    let pid: Int32
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User plus system CPU seconds of the tree (children that already exited are not counted).
    func cpuSeconds() -> Double {
        tree().reduce(0) { total, pid in
            // utime and stime are fields 14 and 15.
            guard let fields = Self.statFields(pid), fields.count > 13,
                  let user = Double(fields[11]), let system = Double(fields[12]) else { return total }
            return total + (user + system) / Self.ticksPerSecond
        }
    }

    /// The fields of `/proc/PID/stat` after the command name, from field 3 (state) on; nil when the
    /// process is gone. The name is skipped up to its last `)`, since it may hold spaces and parentheses.
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Resident set size of the tree now, in bytes.
    func residentBytes() -> Int { statusField("VmRSS") }

    /// Peak resident set size of the tree since the last `resetPeak()`, in bytes (sum of each
    /// process's `VmHWM`).
    func peakResidentBytes() -> Int { statusField("VmHWM") }

    /// Restarts the peak counters (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+).
    func resetPeak() {
        for pid in tree() { try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8) }
    }

    private func statusField(_ name: String) -> Int {
        tree().reduce(0) { total, pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                  let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return total }
            return total + kilobytes * 1024
        }
    }

    /// The process and every descendant alive now.
    private func tree() -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            // ppid is field 4.
            guard let child = Int32(entry), let fields = Self.statFields(child) else { continue }
            if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(child) }
        }
        var result = [pid]
        var index = 0
        while index < result.count {
            result.append(contentsOf: parents[result[index]] ?? [])
            index += 1
        }
        return result
    }
}

/// What a proxy used while one measurement ran.
struct ResourceUse: Sendable {
    /// CPU seconds used during the run.
    var cpuSeconds: Double
    /// CPU seconds divided by the run's elapsed seconds: cores kept busy on average.
    var cores: Double
    /// Peak resident set size during the run, in bytes.
    var peakRSS: Int

    /// CPU microseconds per unit of `count` (requests, events); nil when there were none.
    func microseconds(per count: Int) -> Double? {
        count > 0 ? cpuSeconds * 1e6 / Double(count) : nil
    }
}

/// Measures a process tree around one run: CPU time before and after, and the peak RSS (the kernel's
/// high-water mark, reset before the run).
struct ResourceMeter: Sendable {
    let probe: ProcessProbe?

    func measure<T: Sendable>(_ body: () async throws -> T) async rethrows -> (T, ResourceUse?) {
        guard let probe else { return (try await body(), nil) }
        probe.resetPeak()
        let cpuBefore = probe.cpuSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try await body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = probe.cpuSeconds() - cpuBefore
        return (value, ResourceUse(cpuSeconds: cpu, cores: elapsed > 0 ? cpu / elapsed : 0, peakRSS: probe.peakResidentBytes()))
    }
}
