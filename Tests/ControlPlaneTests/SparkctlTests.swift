// SPDX-License-Identifier: Apache-2.0
import BridgeServer
import ControlProtocol
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("The sparkctl binary against an in-process ControlServer")
struct SparkctlTests {
    @Test("status prints a key/value table")
    func statusTable() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["status", "--socket", path])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == """
                version           0.1.0-test
                uptime            1h 2m 3s
                config            /etc/spark-bridge/config.yaml
                config loaded     2025-11-24 16:00:00
                listeners         127.0.0.1:4000, [::1]:4000
                in flight         3 requests (1 streaming)
                requests total    1234
                draining          no
                drained backends  10.0.0.2:8000

                """)
        }
    }

    @Test("health prints one aligned row per backend, drained, requests in flight and vLLM's own load (RUN/WAIT/KV%) included")
    func healthTable() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["health", "--socket", path])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == """
                BACKEND        STATE         IN FLIGHT  RUN  WAIT  KV%  LATENCY  LAST CHECK           WARM  WARMUP  MODELS                                     ERROR
                10.0.0.1:8888  up                    3    2     5   44    12 ms  2025-11-24 16:00:00  yes    1.8 s  Qwen/Qwen3-Coder-30B-A3B-Instruct (65536)  -
                10.0.0.2:8000  down drained          0    -     -    -        -  2025-11-24 16:00:00  no         -  -                                          connection refused

                """)
        }
    }

    @Test("aliases prints one row per deployment and the default model")
    func aliasesTable() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["aliases", "--socket", path])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == """
                ALIAS           MATCH    ROUTING           MODEL                              BACKEND        URL
                claude-*haiku*  pattern  -                 Qwen/Qwen3-Coder-30B-A3B-Instruct  10.0.0.1:8888  http://10.0.0.1:8888/v1
                claude-*        pattern  session-affinity  Qwen/Qwen3-Coder-30B-A3B-Instruct  10.0.0.1:8888  http://10.0.0.1:8888/v1
                                                           Qwen/Qwen3-235B                    10.0.0.2:8000  http://10.0.0.2:8000/v1
                qwen            exact    -                 Qwen/Qwen3-235B                    10.0.0.2:8000  http://10.0.0.2:8000/v1
                default model: claude-*

                """)
        }
    }

    @Test("--json prints the payload, before or after the verb", arguments: [
        (["status"], "status"), (["health"], "health"), (["aliases"], "aliases"), (["reload"], "reload"),
        (["drain"], "drain"), (["resume"], "resume"),
    ])
    func json(_ verb: [String], _ name: String) async throws {
        try await withControlServer { _, path in
            for arguments in [["--json", "--socket", path] + verb, verb + ["--socket", path, "--json"]] {
                let result = try await Sparkctl.run(arguments)
                #expect(result.status == 0, "\(result)")
                let data = Data(result.stdout.utf8)
                let decoder = ControlWire.makeDecoder()
                switch name {
                case "status": #expect(try decoder.decode(StatusReport.self, from: data) == Fixtures.status)
                case "health": #expect(try decoder.decode(HealthReport.self, from: data) == Fixtures.health)
                case "aliases": #expect(try decoder.decode(AliasesReport.self, from: data) == Fixtures.aliases)
                case "reload": #expect(try decoder.decode(ReloadReport.self, from: data) == Fixtures.reload)
                case "drain": #expect(try decoder.decode(DrainReport.self, from: data) == DrainReport(finished: 3, cut: 1))
                default: #expect(try decoder.decode(ResumeReport.self, from: data) == ResumeReport(draining: false))
                }
            }
        }
    }

    @Test("health --json keeps unknown values as null")
    func healthJSONNulls() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["health", "--json", "--socket", path])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let down = try #require((object["backends"] as? [[String: Any]])?.last)
            #expect(down["latency_ms"] is NSNull)
            #expect(down["last_error"] as? String == "connection refused")
        }
    }

    @Test("reload prints what changed and the new file's warnings")
    func reloadChanged() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["reload", "--socket", path])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == """
                configuration reloaded:
                  + alias qwen
                  - alias gpt-4o
                  ~ alias claude-* (deployments changed)
                  ~ setting timeouts.idle_seconds

                """)
            #expect(result.stderr == "warning: /etc/spark-bridge/config.yaml:7:3: spark_bridge.colour: unknown key, ignored\n")
        }
    }

    @Test("a reload that changes nothing says so")
    func reloadUnchanged() async throws {
        let unchanged = ReloadReport(added: [], removed: [], changedAliases: [], settingsChanged: [])
        try await withControlServer(commands: FakeCommands(reload: .success(unchanged))) { _, path in
            let result = try await Sparkctl.run(["reload", "--socket", path])
            #expect(result.status == 0 && result.stdout == "configuration reloaded: nothing changed\n", "\(result)")
        }
    }

    @Test("a rejected reload exits 1 and names file:line:column")
    func reloadRejected() async throws {
        try await withControlServer(commands: FakeCommands(reload: .failure(Fixtures.rejectedReload))) { _, path in
            let result = try await Sparkctl.run(["reload", "--socket", path])
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout == "")
            #expect(result.stderr == """
                sparkctl: reload rejected; spark-bridge keeps its running configuration:
                  /etc/spark-bridge/config.yaml:3:15: model_list[0].litellm_params.api_base: expected an http:// or https:// URL, got "ftp://h"

                """)
            let json = try await Sparkctl.run(["reload", "--json", "--socket", path])
            #expect(json.status == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let diagnostics = try #require((object["error"] as? [String: Any])?["diagnostics"] as? [[String: Any]])
            #expect(diagnostics.first?["line"] as? Int == 3 && diagnostics.first?["column"] as? Int == 15)
        }
    }

    @Test("drain sends its timeout and backend and prints how many finished and were cut")
    func drain() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            let all = try await Sparkctl.run(["drain", "--timeout", "5", "--socket", path])
            #expect(all.status == 0, "\(all)")
            #expect(all.stdout == "spark-bridge drained: 3 finished, 1 cut\nnew requests are refused until 'sparkctl resume'\n")
            let one = try await Sparkctl.run(["drain", "--backend", "10.0.0.2:8000", "--socket", path])
            #expect(one.stdout == "backend 10.0.0.2:8000 drained: 3 finished, 1 cut\nnew requests are refused until 'sparkctl resume --backend 10.0.0.2:8000'\n")
            let unknown = try await Sparkctl.run(["drain", "--backend", "nowhere", "--socket", path])
            #expect(unknown.status == 1 && unknown.stderr == "sparkctl: no backend called nowhere\n", "\(unknown)")
            #expect(commands.calls == ["drain 5.0 seconds -", "drain - 10.0.0.2:8000", "drain - nowhere"])
        }
    }

    @Test("resume takes requests again, everywhere or on one backend")
    func resume() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            let all = try await Sparkctl.run(["resume", "--socket", path])
            #expect(all.status == 0 && all.stdout == "spark-bridge resumed: taking requests\n", "\(all)")
            let one = try await Sparkctl.run(["resume", "--backend", "b", "--socket", path])
            #expect(one.stdout == "backend b resumed: taking requests\nspark-bridge as a whole is still drained; 'sparkctl resume' without --backend lifts that\n")
            #expect(commands.calls == ["resume -", "resume b"])
        }
    }

    @Test("env prints exports for Claude Code; the key only with --with-key; --alias is sent; a refusal exits 1")
    func env() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            let plain = try await Sparkctl.run(["env", "--socket", path])
            #expect(plain.status == 0, "\(plain)")
            #expect(plain.stdout.contains("export ANTHROPIC_BASE_URL=http://127.0.0.1:4000\n"))
            #expect(plain.stdout.contains(#"export ANTHROPIC_API_KEY="${ANTHROPIC_API_KEY:?"#) && !plain.stdout.contains("sk-master"))
            #expect(plain.stdout.contains("export CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000\n"))
            #expect(plain.stdout.contains("export CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=77\n"))
            let keyed = try await Sparkctl.run(["env", "--with-key", "--alias", "local", "--socket", path])
            #expect(keyed.stdout.contains("export ANTHROPIC_API_KEY=sk-master\n"))
            #expect(keyed.stdout.contains("export ANTHROPIC_DEFAULT_HAIKU_MODEL=local\n"))
            let refused = try await Sparkctl.run(["env", "--alias", "nowhere", "--socket", path])
            #expect(refused.status == 1 && refused.stderr.contains("unknown model nowhere"))
        }
        #expect(commands.calls == ["claude_env - false", "claude_env local true", "claude_env nowhere false"])
    }

    @Test("SPARKCTL_SOCKET names the socket when --socket does not")
    func socketFromEnvironment() async throws {
        try await withControlServer { _, path in
            let result = try await Sparkctl.run(["status", "--json"], environment: ["SPARKCTL_SOCKET": path])
            #expect(result.status == 0, "\(result)")
            let wrong = try await Sparkctl.run(["status", "--socket", path + ".missing"], environment: ["SPARKCTL_SOCKET": path])
            #expect(wrong.status == 3)
        }
    }

    @Test("exit 3 when the daemon is not running: no socket file, or nobody listening on it")
    func notRunning() async throws {
        try await withTemporaryDirectory { directory in
            let missing = try await Sparkctl.run(["status", "--socket", directory + "/control.sock"])
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr == "sparkctl: spark-bridge is not running (\(directory)/control.sock: no such socket)\n")
            let noDirectory = try await Sparkctl.run(["health", "--socket", directory + "/gone/control.sock"])
            #expect(noDirectory.status == 3, "\(noDirectory)")
            makeStaleSocket(at: directory + "/stale.sock")
            let stale = try await Sparkctl.run(["reload", "--socket", directory + "/stale.sock"])
            #expect(stale.status == 3, "\(stale)")
            #expect(stale.stderr.contains("connection refused"))
        }
    }

    @Test("usage errors exit 64", arguments: [
        ["frobnicate"], ["status", "--bogus"], ["drain", "--timeout", "soon"], ["drain", "--timeout", "100000"],
        ["resume", "--backend", ""], ["status", "extra"], [],
    ])
    func usage(_ arguments: [String]) async throws {
        let result = try await Sparkctl.run(arguments + ["--socket", "/nonexistent/control.sock"])
        // With no verb at all, sparkctl prints its help, which is not an error.
        let expected: Int32 = arguments.isEmpty ? 0 : 64
        #expect(result.status == expected, "\(result)")
        if !arguments.isEmpty { #expect(result.stderr.contains("Error:")) }
    }

    @Test("help and the bash completion script exit 0")
    func helpAndCompletion() async throws {
        let help = try await Sparkctl.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: sparkctl"))
        let completion = try await Sparkctl.run(["--generate-completion-script", "bash"])
        #expect(completion.status == 0)
        #expect(completion.stdout.contains("_sparkctl"))
        #expect(completion.stdout.contains("drain"))
    }

    @Test("check accepts a good file, printing its warnings")
    func checkGood() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/config.yaml"
            try """
                model_list:
                  - model_name: claude-*
                    litellm_params:
                      model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct
                      api_base: http://10.0.0.1:8888/v1
                spark_bridge:
                  colour: blue

                """.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await Sparkctl.run(["check", "--config", path])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == "\(path): OK (1 alias, 1 backend)\n")
            #expect(result.stderr.hasPrefix("\(path):7:3: warning: "), "\(result)")
            let json = try await Sparkctl.run(["check", "--json", "--config", path])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["valid"] as? Bool == true)
            #expect((object["warnings"] as? [[String: Any]])?.first?["line"] as? Int == 7)
        }
    }

    @Test("check refuses a bad file with exit 1 and every error's file:line:column")
    func checkBad() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/config.yaml"
            try """
                model_list:
                  - model_name: claude-*
                    litellm_params: { model: openai/m, api_base: "ftp://h" }
                spark_bridge:
                  max_body_bytes: -3

                """.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await Sparkctl.run(["check", "--config", path])
            #expect(result.status == 1, "\(result)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("\(path):3:") == true)
            #expect(lines.first?.contains(": error: model_list[0].litellm_params.api_base") == true)
            #expect(lines.last?.hasPrefix("\(path):5:19: error: max_body_bytes") == true)
            let missing = try await Sparkctl.run(["check", "--config", directory + "/none.yaml"])
            #expect(missing.status == 1 && missing.stderr.contains("cannot read the configuration"))
        }
    }

    @Test("colour only on a terminal, and never with NO_COLOR", .enabled(if: Sparkctl.script != nil, "needs script(1) to give sparkctl a terminal"))
    func colour() async throws {
        let script = try #require(Sparkctl.script)
        try await withControlServer { _, path in
            let command = "\(Sparkctl.binary) health --socket \(path)"
            let coloured = try await onTerminal(script: script, command: command, environment: [:])
            #expect(coloured.contains("\u{1B}[32mup\u{1B}[0m"), "\(coloured)")
            let noColour = try await onTerminal(script: script, command: command, environment: ["NO_COLOR": "1"])
            #expect(noColour.contains("up") && !noColour.contains("\u{1B}["), "\(noColour)")
            let piped = try await Sparkctl.run(["health", "--socket", path])
            #expect(!piped.stdout.contains("\u{1B}["))
        }
    }

    @Test(
        "a peer that is not root, the daemon's user or in the group is refused, and that is logged",
        .enabled(if: Sparkctl.asNobody != nil, "needs root and setpriv(1) or runuser(1), and a sparkctl binary other users can run")
    )
    func refusedPeer() async throws {
        let records = LogRecords()
        let logger = Logger(label: "control-test") { _ in RecordingLogHandler(records: records) }
        let commands = FakeCommands()
        // The socket file lets anyone connect, so the SO_PEERCRED check alone decides.
        try await withControlServer(commands: commands, logger: logger, configure: { $0.mode = 0o666 }) { _, path in
            let result = try await Sparkctl.run(["status", "--socket", path], through: try #require(Sparkctl.asNobody))
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.hasPrefix("sparkctl: permission denied: uid 65534 may not use the spark-bridge control socket"), "\(result)")
            #expect(commands.calls.isEmpty)
        }
        let refusal = records.all.first { $0.message.contains("refused") }
        #expect(refusal?.level == .warning)
        #expect(refusal?.metadata["PEER_UID"] == "65534")
    }

    /// What `command` prints when its stdout is a terminal (`script -qec`).
    private func onTerminal(script: String, command: String, environment: [String: String]) async throws -> String {
        var childEnvironment = ProcessInfo.processInfo.environment
        childEnvironment["NO_COLOR"] = nil
        childEnvironment["TZ"] = "UTC"
        childEnvironment["TERM"] = "xterm"
        childEnvironment.merge(environment) { $1 }
        return try await runProcess([script, "-qec", command, "/dev/null"], environment: childEnvironment).stdout
    }
}
