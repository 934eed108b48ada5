// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The machine and software a report was measured on.
struct MachineDescription: Sendable {
    var cpu = "unknown"
    var cores = 0
    var memory = "unknown"
    var kernel = "unknown"
    var os = "unknown"
    var swift = "unknown"
    var litellm = "not installed"
    /// The measured source: `git describe` of the working tree (`-dirty` when it has changes).
    var revision = "unknown"

    static func current(litellmExecutable: String?) -> MachineDescription {
        var machine = MachineDescription()
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) {
            machine.cpu = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? machine.cpu
        }
        machine.cores = ProcessInfo.processInfo.activeProcessorCount
        machine.memory = String(format: "%.1f GiB", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)
        machine.kernel = run("/usr/bin/uname", ["-sr"]) ?? machine.kernel
        if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
           let line = release.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) {
            machine.os = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        machine.swift = run("/usr/bin/env", ["swift", "--version"])?.split(separator: "\n").first.map(String.init) ?? machine.swift
        machine.revision = run("/usr/bin/git", ["describe", "--always", "--dirty"]) ?? machine.revision
        if let litellmExecutable {
            let python = URL(fileURLWithPath: litellmExecutable).deletingLastPathComponent().appendingPathComponent("python").path
            machine.litellm = run(python, ["-c", "import importlib.metadata as m; print('litellm ' + m.version('litellm'))"]) ?? "unknown version"
        }
        return machine
    }

    /// The first line of a command's stdout, or nil.
    private static func run(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
