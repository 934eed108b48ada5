// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import ControlProtocol
import Foundation
import Logging
import ServiceLifecycle
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ControlServer over a real Unix socket")
struct ControlServerTests {
    @Test("a status request gets the status report")
    func status() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            let response = try await onOwnThread {
                try LineClient(path: path).ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self)
            }
            #expect(response.ok && response.version == 1)
            #expect(response.result == Fixtures.status)
            #expect(commands.calls == ["status"])
        }
    }

    @Test("one connection carries many requests, each answered in order")
    func severalRequests() async throws {
        let commands = FakeCommands()
        try await withControlServer(commands: commands) { _, path in
            try await onOwnThread {
                let client = try LineClient(path: path)
                #expect(try client.ask(#"{"version":1,"verb":"health"}"#, as: HealthReport.self).result == Fixtures.health)
                #expect(try client.ask(#"{"version":1,"verb":"aliases"}"#, as: AliasesReport.self).result == Fixtures.aliases)
                #expect(try client.ask(#"{"version":1,"verb":"reload"}"#, as: ReloadReport.self).result == Fixtures.reload)
                #expect(try client.ask(#"{"version":1,"verb":"drain","timeout_seconds":2.5,"backend":"b"}"#, as: DrainReport.self).result
                    == DrainReport(finished: 3, cut: 1))
                #expect(try client.ask(#"{"version":1,"verb":"resume"}"#, as: ResumeReport.self).result == ResumeReport(draining: false))
                #expect(try client.ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self).ok)
            }
            #expect(commands.calls == ["health", "aliases", "reload", "drain 2.5 seconds b", "resume -", "status"])
        }
    }

    @Test("requests written all at once are answered one line each, in order")
    func pipelined() async throws {
        try await withControlServer { _, path in
            let verbs = try await onOwnThread { () -> [String] in
                let client = try LineClient(path: path)
                try client.write(#"{"version":1,"verb":"status"}"# + "\n" + #"{"version":1,"verb":"bogus"}"# + "\n" + #"{"version":1,"verb":"resume","backend":"x"}"# + "\n")
                return try (0..<3).map { _ in
                    let line = try #require(try client.readLine())
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                    guard object["ok"] as? Bool == true else { return "error" }
                    return (object["result"] as? [String: Any])?["version"] != nil ? "status" : "resume"
                }
            }
            #expect(verbs == ["status", "error", "resume"])
        }
    }

    @Test("a malformed line gets an error response and the connection stays usable")
    func malformed() async throws {
        try await withControlServer { _, path in
            try await onOwnThread {
                let client = try LineClient(path: path)
                let failure = try client.ask("this is not json")
                #expect(!failure.ok && failure.result == nil)
                #expect(failure.error?.message == "malformed request: the request is not valid JSON")
                #expect(try client.ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self).ok)
            }
        }
    }

    @Test("another protocol version and an unknown verb are errors, not hang-ups")
    func versionAndVerb() async throws {
        try await withControlServer { _, path in
            try await onOwnThread {
                let client = try LineClient(path: path)
                let version = try client.ask(#"{"version":2,"verb":"status"}"#)
                #expect(version.version == 1 && !version.ok)
                #expect(version.error?.message == "unsupported control protocol version 2; this daemon speaks version 1")
                let verb = try client.ask(#"{"version":1,"verb":"restart"}"#)
                #expect(verb.error?.message.hasPrefix(#"unknown verb "restart""#) == true)
                let argument = try client.ask(#"{"version":1,"verb":"drain","timeout_seconds":"soon"}"#)
                #expect(argument.error?.message == "invalid argument: timeout_seconds has the wrong type")
                #expect(try client.ask(#"{"version":1,"verb":"aliases"}"#, as: AliasesReport.self).ok)
            }
        }
    }

    @Test("an oversized line is refused once, dropped as it arrives, and the next line is served")
    func oversizedLine() async throws {
        try await withControlServer(configure: { $0.maxLineBytes = 1024 }) { _, path in
            try await onOwnThread {
                let client = try LineClient(path: path)
                // Sent in pieces, the newline long after the limit was passed.
                let huge = Array(repeating: UInt8(ascii: "x"), count: 100_000)
                try client.write(Array(huge[..<50_000]))
                try client.write(Array(huge[50_000...]) + [UInt8(ascii: "\n")])
                let line = try #require(try client.readLine())
                let response = try ControlResponse<NoPayload>.decode(line)
                #expect(response.error?.message == "request line longer than 1024 bytes")
                #expect(try client.ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self).ok)
                // A long line that arrives whole with its newline is answered the same way.
                let tooLong = try client.ask(String(repeating: "y", count: 2000))
                #expect(tooLong.error?.message == "request line longer than 1024 bytes")
                #expect(try client.ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self).ok)
            }
        }
    }

    @Test("CRLF line ends are accepted, and a last line without a newline is still answered")
    func lineEnds() async throws {
        try await withControlServer { _, path in
            try await onOwnThread {
                let client = try LineClient(path: path)
                #expect(try client.ask(#"{"version":1,"verb":"status"}"# + "\r", as: StatusReport.self).ok)
                try client.write(#"{"version":1,"verb":"health"}"#)
                client.finishWriting()
                let line = try #require(try client.readLine())
                #expect(try ControlResponse<HealthReport>.decode(line).result == Fixtures.health)
                #expect(try client.readLine() == nil)
            }
        }
    }

    @Test("a rejected reload carries its message and each file:line:column")
    func rejectedReload() async throws {
        try await withControlServer(commands: FakeCommands(reload: .failure(Fixtures.rejectedReload))) { _, path in
            let response = try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"reload"}"#, as: ReloadReport.self) }
            #expect(!response.ok && response.result == nil)
            #expect(response.error == Fixtures.rejectedReload)
        }
    }

    @Test("a report JSON cannot carry is answered with an error, not silence")
    func unencodableReport() async throws {
        let health = HealthReport(backends: [BackendHealth(name: "h", url: "http://h/v1", state: .up, latencyMs: .nan)])
        try await withControlServer(commands: FakeCommands(health: health)) { _, path in
            let response = try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"health"}"#) }
            #expect(response.error?.message.hasPrefix("the daemon could not encode its answer") == true)
        }
    }

    @Test("the socket is made with mode 0660, in a parent directory created for it")
    func socketFile() async throws {
        try await withControlServer(socketName: "run/spark-bridge/control.sock") { server, path in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(server.path == path)
        }
    }

    @Test("control_socket_group gives the socket file that group")
    func socketGroup() async throws {
        let group = try #require(SystemAccounts.groupID(named: "nogroup") ?? SystemAccounts.groupID(named: "nobody"))
        let name = SystemAccounts.groupID(named: "nogroup") != nil ? "nogroup" : "nobody"
        try await withControlServer(configure: { $0.group = name }) { server, path in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(UInt32(info.st_gid) == group)
            #expect(server.policy.allowedGroup == group)
        }
    }

    @Test("a control_socket_group that does not exist stops the start")
    func unknownGroup() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = ControlServer.Configuration(path: directory + "/c.sock")
            configuration.group = "no-such-group-spark"
            await #expect(throws: ControlServerError.unknownGroup("no-such-group-spark")) {
                _ = try await ControlServer.start(configuration: configuration, commands: FakeCommands(), logger: Logger(label: "t"))
            }
        }
    }

    @Test("a stale socket file nobody answers on is replaced")
    func staleSocket() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/control.sock"
            makeStaleSocket(at: path)
            let server = try await ControlServer.start(configuration: .init(path: path), commands: FakeCommands(), logger: Logger(label: "t"))
            let response = try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self) }
            #expect(response.ok)
            await server.shutdown()
        }
    }

    @Test("a socket a live daemon answers on is not taken over")
    func liveSocket() async throws {
        try await withControlServer { _, path in
            await #expect(throws: ControlServerError.socketInUse(path)) {
                _ = try await ControlServer.start(configuration: .init(path: path), commands: FakeCommands(), logger: Logger(label: "t"))
            }
            let response = try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self) }
            #expect(response.ok)
        }
    }

    @Test("a file that is not a socket is left alone")
    func notASocket() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/control.sock"
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
            await #expect(throws: ControlServerError.notASocket(path)) {
                _ = try await ControlServer.start(configuration: .init(path: path), commands: FakeCommands(), logger: Logger(label: "t"))
            }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
        }
    }

    @Test("shutdown closes open connections and removes the socket file")
    func shutdown() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/control.sock"
            let server = try await ControlServer.start(configuration: .init(path: path), commands: FakeCommands(), logger: Logger(label: "t"))
            let client = try await onOwnThread { try LineClient(path: path) }
            #expect(try await onOwnThread { try client.ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self) }.ok)
            await server.shutdown()
            #expect(try await onOwnThread { try client.readLine() } == nil)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("as a service it answers until the group shuts down gracefully, then removes the socket file")
    func asService() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/control.sock"
            let server = try await ControlServer.start(configuration: .init(path: path), commands: FakeCommands(), logger: Logger(label: "t"))
            let group = ServiceGroup(services: [server], logger: Logger(label: "t"))
            let running = Task { try await group.run() }
            #expect(try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self) }.ok)
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("the current user, as the daemon's user or root, is let in and not logged as refused")
    func currentUserAllowed() async throws {
        let records = LogRecords()
        let logger = Logger(label: "control-test") { _ in RecordingLogHandler(records: records) }
        try await withControlServer(logger: logger) { server, path in
            #expect(server.policy.daemonUID == UInt32(geteuid()))
            #expect(server.policy.allowedGroup == UInt32(getegid()))
            let response = try await onOwnThread { try LineClient(path: path).ask(#"{"version":1,"verb":"status"}"#, as: StatusReport.self) }
            #expect(response.ok)
        }
        #expect(!records.all.contains { $0.message.contains("refused") })
    }
}

/// Leaves a socket file at `path` that no process listens on, as a crashed daemon does.
func makeStaleSocket(at path: String) {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        let bytes = Array(path.utf8)
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    close(fd)
}
