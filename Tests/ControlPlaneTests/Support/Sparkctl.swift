// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a `sparkctl` run printed and how it exited.
struct SparkctlResult: Sendable, CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs `command` to its end, its output going to files (reading pipes from Foundation can die on
/// EINTR), on a thread of its own.
func runProcess(_ command: [String], environment: [String: String]) async throws -> SparkctlResult {
    try await onOwnThread {
        let directory = NSTemporaryDirectory() + "sparkctl-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        done.wait()
        try out.close()
        try err.close()
        return SparkctlResult(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: outPath, encoding: .utf8),
            stderr: try String(contentsOfFile: errPath, encoding: .utf8)
        )
    }
}

/// Runs the real `sparkctl` binary built next to this test bundle.
enum Sparkctl {
    /// `$SPARKCTL_BIN`, else `sparkctl` in the directory of the running test binary (SwiftPM's bin
    /// path), else `.build/debug/sparkctl` under the package.
    static let binary: String = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SPARKCTL_BIN"], !path.isEmpty { return path }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let sibling = testBinary.deletingLastPathComponent().appendingPathComponent("sparkctl").path
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return package.appendingPathComponent(".build/debug/sparkctl").path
    }()

    /// Runs `sparkctl arguments…` with a clean environment (TZ=UTC, no NO_COLOR or SPARKCTL_SOCKET)
    /// plus `environment`; `prefix` runs it through another program (`setpriv …`, `script …`).
    static func run(_ arguments: [String], environment: [String: String] = [:], through prefix: [String] = []) async throws -> SparkctlResult {
        var childEnvironment = ProcessInfo.processInfo.environment
        childEnvironment["NO_COLOR"] = nil
        childEnvironment["SPARKCTL_SOCKET"] = nil
        childEnvironment["TZ"] = "UTC"
        childEnvironment.merge(environment) { $1 }
        let command = prefix + [binary] + arguments
        return try await runProcess(command, environment: childEnvironment)
    }

    /// A program that runs a command as `nobody`, when this process may switch users; nil otherwise.
    static let asNobody: [String]? = {
        guard geteuid() == 0, pathReachableByOthers(binary) else { return nil }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            return ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        }
        for runuser in ["/usr/sbin/runuser", "/sbin/runuser"] where FileManager.default.isExecutableFile(atPath: runuser) {
            return [runuser, "-u", "nobody", "--"]
        }
        return nil
    }()

    /// `script`, which gives the command a terminal for stdout; nil when not installed.
    static let script: String? = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// True when every directory above `path` can be searched, and `path` run, by other users.
    private static func pathReachableByOthers(_ path: String) -> Bool {
        var current = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        var info = stat()
        guard stat(current.path, &info) == 0, info.st_mode & 0o005 == 0o005 else { return false }
        while current.path != "/" {
            current.deleteLastPathComponent()
            guard stat(current.path, &info) == 0, info.st_mode & 0o001 != 0 else { return false }
        }
        return true
    }
}
