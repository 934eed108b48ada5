// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A server process the benchmark starts and stops: stdout is read line by line (servers announce
/// their address there), stderr goes to a log file in the run's directory.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `lines` and `waiters` are only touched under `lock`; `process` is set once in init.
    let name: String
    private let process = Process()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var stdoutClosed = false
    /// When `run()` returned, on the monotonic clock (nanoseconds): the start of "start to READY".
    private(set) var spawnedAt: UInt64 = 0

    /// Starts `executable` with `arguments`, `environment` added to this process's.
    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logDirectory: URL) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let logURL = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        spawnedAt = DispatchTime.now().uptimeNanoseconds
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.lock()
                    lines.append(line)
                    lock.broadcast()
                    lock.unlock()
                }
            }
            lock.lock()
            stdoutClosed = true
            lock.broadcast()
            lock.unlock()
        }
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// Waits for a stdout line matching `pattern` and returns its first capture group.
    func awaitLine(matching pattern: String, timeout: TimeInterval = 30) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        var seen = 0
        lock.lock()
        defer { lock.unlock() }
        while true {
            while seen < lines.count {
                let line = lines[seen]
                seen += 1
                let range = NSRange(line.startIndex..., in: line)
                if let match = regex.firstMatch(in: line, range: range), let capture = Range(match.range(at: 1), in: line) {
                    return String(line[capture])
                }
            }
            if stdoutClosed { throw BenchError("\(name) exited before printing a line like /\(pattern)/; see its log") }
            if !lock.wait(until: deadline) { throw BenchError("\(name) printed no line like /\(pattern)/ within \(Int(timeout)) s") }
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds; returns the exit status.
    @discardableResult
    func stop(grace: TimeInterval = 10) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A benchmark that cannot go on, with the reason.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
