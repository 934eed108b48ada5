// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import ControlProtocol
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("sparkctl top and trace against an in-process ControlServer")
struct TopTraceTests {
    @Test("top --once prints the alias and backend tables with a sparkline scaled to the largest point (gaps blank), '-' for the vLLM queue, and exits")
    func topOnce() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["top", "--once", "--socket", path])
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first?.hasPrefix("spark-bridge  ") == true && lines.first?.hasSuffix("3 in flight (2 streaming)") == true, "\(result)")
            #expect(Array(lines.dropFirst()) == [
                "",
                "ALIAS            STATE    REQS  STREAMS  WAITING  RUNNING  TOK/S  TTFT P50  TTFT P99  TTFT LAST 60S  ERR/MIN  REQ/MIN  WINDOW",
                "claude-sonnet-*  up          3        2        -        -   41.2    152 ms     1.8 s  ▂ ▅█                 1       12   65536",
                "claude-*haiku*   down        0        0        -        -    0.0         -         -  -                    0        0       -",
                "",
                "BACKEND          STATE    REQS  STREAMS  WAITING  RUNNING  TOK/S  TTFT P50  TTFT P99  TTFT LAST 60S  ERR/MIN  REQ/MIN  WINDOW",
                "10.0.0.1:8888    up          3        2        -        -   41.2    152 ms     1.8 s  ▂ ▅█                 1       12   65536",
                "10.0.0.2:8000    drained     0        0        -        -    0.0         -         -  -                    0        0       -",
                "",
            ], "\(result)")
        }
    }

    @Test("top --json prints the report with every key, null for what is unknown")
    func topJSON() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["top", "--json", "--socket", path])
            #expect(result.status == 0, "\(result)")
            let decoded = try JSONDecoder().decode(ActivityReport.self, from: Data(result.stdout.utf8))
            #expect(decoded == Fixtures.activity)
            #expect(result.stdout.contains("\"vllm_waiting\" : null"))
            #expect(result.stdout.contains("\"ttft_sparkline_ms\" : [\n        100,\n        null,"))
        }
    }

    @Test("trace prints a line per event as it comes, and a refused --bodies says why")
    func traceLines() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            let trace = try LongRunningProcess([Sparkctl.binary, "trace", "--socket", path])
            defer { trace.stop() }
            #expect(await eventually { commands.calls.contains("trace - false") && commands.traceHub.readerCount == 1 })
            commands.traceHub.publish(TraceEvent(
                time: "2026-12-05T11:40:01.123Z", event: .start, requestID: "req_1", method: "POST", path: "/v1/messages",
                model: "claude-sonnet-4-5", alias: "claude-sonnet-*", backend: "127.0.0.1:8000", backendModel: "Qwen/Qwen3-8B"
            ))
            commands.traceHub.publish(TraceEvent(time: "2026-12-05T11:40:01.150Z", event: .upstream, requestID: "req_1", alias: "claude-sonnet-*", status: 503))
            commands.traceHub.publish(TraceEvent(
                time: "2026-12-05T11:40:01.160Z", event: .upstream, requestID: "req_1", alias: "claude-sonnet-*",
                message: "failed before the first byte: claude-sonnet-4-5@127.0.0.1:8000:503"
            ))
            // Read before more come: the hub drops events for a reader that falls behind (a loaded machine).
            #expect(await eventually { trace.stdout.split(separator: "\n").count == 3 }, "\(trace.stdout)")
            commands.traceHub.publish(TraceEvent(time: "2026-12-05T11:40:01.200Z", event: .upstream, requestID: "req_1", alias: "claude-sonnet-*", status: 200))
            commands.traceHub.publish(TraceEvent(
                time: "2026-12-05T11:40:02.000Z", event: .end, requestID: "req_1", alias: "claude-sonnet-*", status: 200,
                ttftMs: 152, durationMs: 877, inputTokens: 12, outputTokens: 40
            ))
            let expected = [
                "11:40:01.123 req_1 start POST /v1/messages claude-sonnet-4-5 (alias claude-sonnet-*) -> Qwen/Qwen3-8B @ 127.0.0.1:8000",
                "11:40:01.150 req_1 upstream status=503",
                "11:40:01.160 req_1 upstream status=- (failed before the first byte: claude-sonnet-4-5@127.0.0.1:8000:503)",
                "11:40:01.200 req_1 upstream status=200",
                "11:40:02.000 req_1 end status=200 ttft=152 ms duration=877 ms tokens_in=12 tokens_out=40",
            ]
            #expect(await eventually { trace.stdout.split(separator: "\n").map(String.init) == expected }, "\(trace.stdout)")
            #expect(trace.stderr.contains("tracing all requests"))
        }
        // The policy is enforced by the dispatcher: a peer that may not read bodies gets an error line, no subscription.
        let dispatcher = ControlDispatcher(commands: commands, maxLineBytes: 1024)
        let refused = dispatcher.startTrace(alias: nil, bodies: true, peerMayReadBodies: false)
        #expect(refused.subscription == nil)
        #expect(String(decoding: refused.line, as: UTF8.self).contains("permission denied: trace --bodies"))
        let allowed = dispatcher.startTrace(alias: "qwen", bodies: true, peerMayReadBodies: true)
        #expect(allowed.subscription != nil)
        #expect(String(decoding: allowed.line, as: UTF8.self) == #"{"ok":true,"result":{"alias":"qwen","bodies":true,"queue_capacity":64},"version":1}"# + "\n")
    }

    @Test("completion scripts for bash, zsh and fish know the new verbs", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) async throws {
        let result = try await Sparkctl.run(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("top") && result.stdout.contains("trace") && result.stdout.contains("bodies"))
    }
}

/// Polls `condition` every 20 ms for up to 10 s.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A process left running while the test talks to it; its output goes to files read at any time.
final class LongRunningProcess {
    private let process: Process
    private let directory: String

    init(_ command: [String]) throws {
        directory = NSTemporaryDirectory() + "sparkctl-long-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stderr"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    var stdout: String { (try? String(contentsOfFile: directory + "/stdout", encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? "" }

    /// Kills it, then waits (up to 10 s) for the exit; `Process.waitUntilExit` spins a run loop that
    /// can hang in a test's task.
    func stop() {
        // SIGKILL: a child inherits an ignored SIGTERM from this process (daemons under test ignore it).
        kill(process.processIdentifier, SIGKILL)
        for _ in 0..<500 where process.isRunning { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
