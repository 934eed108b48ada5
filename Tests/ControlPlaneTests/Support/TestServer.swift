// SPDX-License-Identifier: Apache-2.0
import BridgeServer
import ControlProtocol
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory (mode 0755, so other users can reach sockets in it), removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/spark-control-XXXXXX".utf8CString)
    let path = try template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let made = mkdtemp(buffer.baseAddress!) else { throw POSIXError(.EIO) }
        return String(cString: made)
    }
    chmod(path, 0o755)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs `body` with a `ControlServer` answering from `commands` at `<tmp>/<socketName>`, then shuts it down.
func withControlServer<T>(
    commands: FakeCommands = FakeCommands(),
    socketName: String = "control.sock",
    logger: Logger = Logger(label: "control-test", factory: { _ in SwiftLogNoOpLogHandler() }),
    configure: (inout ControlServer.Configuration) -> Void = { _ in },
    _ body: (ControlServer, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        var configuration = ControlServer.Configuration(path: directory + "/" + socketName)
        configure(&configuration)
        let server = try await ControlServer.start(configuration: configuration, commands: commands, logger: logger)
        do {
            let result = try await body(server, configuration.path)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }
}

/// Runs blocking work on a thread of its own, so that it never holds up the cooperative pool the
/// server under test needs.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
