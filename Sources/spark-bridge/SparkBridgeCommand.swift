// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import BridgeConfig
import BridgeServer
import FoundationEssentials
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `spark-bridge`: serve the Anthropic Messages API over vLLM backends.
@main
struct SparkBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spark-bridge",
        abstract: "Serve the Anthropic Messages API (Claude Code) over vLLM's OpenAI API.",
        discussion: """
            Reads a LiteLLM-style configuration (model_list, general_settings, and a spark_bridge section).
            Signals: SIGHUP reloads the configuration (a bad file keeps the running one), SIGTERM/SIGINT
            drain requests in flight until spark_bridge.drain_deadline_seconds, then stop.
            Under systemd: Type=notify readiness, watchdog, socket activation, journald fields.
            """,
        version: BridgeVersion.current
    )

    @Option(name: .long, help: "Configuration file.")
    var config = "/etc/spark-bridge/config.yaml"

    @Option(name: .long, help: "Listen on HOST:PORT instead of the configured addresses (repeatable; port 0 picks a free port).")
    var listen: [String] = []

    @Option(name: .customLong("control-socket"), help: "Control socket path (overrides spark_bridge.control_socket).")
    var controlSocket: String?

    @Flag(name: .long, help: "Validate the configuration and exit 0 (valid) or 1 (invalid).")
    var check = false

    mutating func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        if check {
            do {
                let loaded = try ConfigLoader.load(path: config, environment: environment)
                for warning in loaded.warnings { writeAll("warning: \(warning)\n", to: STDERR_FILENO) }
                print("\(config): OK (\(loaded.configuration.aliases.allAliases.count) aliases, \(loaded.configuration.backends.count) backends)")
                return
            } catch {
                writeAll("spark-bridge: \(error)\n", to: STDERR_FILENO)
                throw ExitCode(1)
            }
        }
        var addresses: [ListenAddress] = []
        for text in listen {
            do { addresses.append(try ListenAddress(parsing: text)) } catch { throw ValidationError("--listen \(text): \(error)") }
        }
        let level = (try? ConfigLoader.load(path: config, environment: environment))?.configuration.settings.logLevel.swiftLogLevel ?? .info
        let toJournal = JournaldLogHandler.stderrIsJournal(environment: environment)
        LoggingSystem.bootstrap { _ in
            toJournal ? JournaldLogHandler(identifier: "spark-bridge", level: level) as any LogHandler
                : ConsoleLogHandler(level: level, timestamps: environment["INVOCATION_ID"] == nil)
        }
        let logger = Logger(label: "spark-bridge")
        let daemon: BridgeDaemon
        do {
            daemon = try await BridgeDaemon.start(options: .init(configPath: config, listen: addresses, controlSocket: controlSocket), logger: logger)
        } catch {
            writeAll("spark-bridge: \(error)\n", to: STDERR_FILENO)
            throw ExitCode(1)
        }
        let listening = daemon.listeners.map { "spark-bridge listening on http://\($0)\n" }.joined()
        do {
            try await daemon.run {
                // Straight to the descriptor, so a supervisor or a test reading the pipe sees it at once.
                writeAll(listening, to: STDOUT_FILENO)
            }
        } catch {
            writeAll("spark-bridge: \(error)\n", to: STDERR_FILENO)
            throw ExitCode(1)
        }
    }
}

/// Writes `text` to `descriptor` unbuffered, retrying short writes and EINTR; gives up on any other
/// error (a closed pipe has no one left to tell).
private func writeAll(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0, errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}
