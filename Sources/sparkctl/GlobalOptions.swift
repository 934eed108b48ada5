// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import ControlProtocol
import Foundation

/// `--socket`: where the daemon's control socket is. Every daemon verb takes it, before or after the verb.
struct SocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The daemon's control socket (default: $SPARKCTL_SOCKET, else \(ControlWire.defaultSocketPath)).",
        valueName: "path"
    ))
    var socket: String?

    /// `--socket`, else `SPARKCTL_SOCKET`, else the default path.
    var path: String {
        if let socket { return socket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["SPARKCTL_SOCKET"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return ControlWire.defaultSocketPath
    }
}

/// `--json`: print the payload as JSON instead of a table. Every verb takes it, before or after the verb.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the answer as JSON, for scripts.")
    var json = false
}

/// What a daemon verb needs to know about the invocation.
struct GlobalOptions: ParsableArguments {
    @OptionGroup var socket: SocketOptions
    @OptionGroup var output: OutputOptions

    /// The socket path to use.
    var socketPath: String { socket.path }
    /// True with `--json`.
    var json: Bool { output.json }
}
