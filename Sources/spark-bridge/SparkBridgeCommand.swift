import ArgumentParser
import BridgeConfig
import BridgeServer
import BridgeUpstream
import Dispatch
import Foundation
import Logging

/// `spark-bridge`: serve the Anthropic Messages API over vLLM backends.
@main
struct SparkBridgeCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "spark-bridge",
        abstract: "Serve the Anthropic Messages API (Claude Code) over vLLM's OpenAI API.",
        discussion: "Reads a LiteLLM-style config (model_list + spark_bridge section). SIGTERM/SIGINT stop it.",
        version: version
    )

    @Option(name: .long, help: "Configuration file.")
    var config = "/etc/spark-bridge/config.yaml"

    @Option(name: .long, help: "Listen on HOST:PORT instead of the configured addresses (repeatable; port 0 picks a free port).")
    var listen: [String] = []

    @Option(name: .customLong("control-socket"), help: "Control socket path (overrides spark_bridge.control_socket).")
    var controlSocket: String?

    @Flag(name: .long, help: "Validate the configuration and exit 0 (valid) or 1 (invalid).")
    var check = false

    mutating func run() throws {
        let underSupervisor = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
        LoggingSystem.bootstrap { _ in ConsoleLogHandler(level: .info, timestamps: !underSupervisor) }
        let logger = Logger(label: "spark-bridge")
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigLoader.load(path: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("spark-bridge: \(error)\n".utf8))
            throw ExitCode(1)
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        if check {
            print("\(config): OK (\(loaded.configuration.aliases.allAliases.count) aliases, \(loaded.configuration.backends.count) backends)")
            return
        }
        var listenAddresses = loaded.configuration.settings.listen
        if !listen.isEmpty {
            listenAddresses = []
            for text in listen {
                do {
                    listenAddresses.append(try ListenAddress(parsing: text))
                } catch {
                    throw ValidationError("--listen \(text): \(error)")
                }
            }
        }
        if loaded.configuration.masterKey == nil, listenAddresses.contains(where: { !$0.isLoopback }) {
            logger.warning("LISTENING ON A NON-LOOPBACK ADDRESS WITHOUT A master_key: anyone who can reach this port can use your GPUs. Set spark_bridge.master_key or general_settings.master_key.")
        }
        let context = BridgeContext(configuration: loaded.configuration, transport: UpstreamTransport(), logger: logger)
        let server: BridgeServer
        do {
            server = try BridgeServer.start(context: context, listen: listenAddresses)
        } catch {
            FileHandle.standardError.write(Data("spark-bridge: cannot listen on \(listenAddresses.map(\.description).joined(separator: ", ")): \(error)\n".utf8))
            throw ExitCode(1)
        }
        // Written straight to the file descriptor so a supervisor or test reading a pipe sees it at once.
        let announcement = server.boundAddresses.map { "spark-bridge listening on http://\($0)\n" }.joined()
        FileHandle.standardOutput.write(Data(announcement.utf8))
        logger.info("serving \(loaded.configuration.aliases.allAliases.count) aliases from \(config)")
        context.health.start()
        waitForTermination()
        logger.info("stopping")
        context.health.stop()
        server.shutdown()
    }

    /// Blocks until SIGTERM or SIGINT.
    private func waitForTermination() {
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        sources.forEach { $0.cancel() }
    }
}
