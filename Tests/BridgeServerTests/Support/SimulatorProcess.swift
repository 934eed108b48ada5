// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import BridgeUpstream
import Dispatch
import Foundation
import Testing
@testable import BridgeServer

/// A real `vllm-sim` process (the binary built beside the tests), driven through its HTTP control
/// endpoints: `POST /sim/health`, `GET /sim/requests`.
final class SimulatorProcess: Sendable {
    private let process: Process
    private let client = UpstreamTransport(configuration: .init(threadName: "sim-client"))
    /// `http://127.0.0.1:PORT`.
    let baseURL: String

    private init(process: Process, baseURL: String) {
        self.process = process
        self.baseURL = baseURL
    }

    /// The `vllm-sim` executable next to the test bundle (`swift build --build-tests` builds it).
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vllm-sim")
    }

    /// Starts `vllm-sim --port 0 <arguments>` and waits for its `listening on` line.
    static func start(_ arguments: [String]) async throws -> SimulatorProcess {
        let process = Process()
        process.executableURL = try #require(FileManager.default.isExecutableFile(atPath: executable.path) ? executable : nil, "build vllm-sim first")
        process.arguments = ["--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while !bytes.contains(UInt8(ascii: "\n")) {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    bytes.append(contentsOf: chunk)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        guard let range = line.range(of: "listening on ") else {
            process.terminate()
            throw SimulatorProcessError(message: "vllm-sim did not start: \(line)")
        }
        let url = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        return SimulatorProcess(process: process, baseURL: url)
    }

    /// `POST /sim/health {"healthy": healthy}`.
    func setHealthy(_ healthy: Bool) async throws {
        let response = try await request("POST", "/sim/health", body: ["healthy": .bool(healthy)])
        #expect(response.status == 200)
    }

    /// `GET /sim/requests`: every request the simulator received.
    func recordedRequests() async throws -> [JSONValue] {
        let response = try await request("GET", "/sim/requests")
        let json = try JSONParser.parse(response.body)
        return json.arrayValue ?? []
    }

    /// SIGTERM, and wait for the process to end.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume()
            }
        }
    }

    /// Stops the process (when still running) and the control client.
    func shutdown() async {
        await stop()
        client.shutdown()
    }

    private func request(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> FetchedResponse {
        let request = UpstreamRequest(
            method: method, url: baseURL + path, headers: [("content-type", "application/json")], body: body?.jsonBytes ?? [],
            timeouts: UpstreamTimeouts(connect: .seconds(5), firstByte: .seconds(10), idle: .seconds(10))
        )
        return try await UpstreamFetch.fetch(request, on: client, maximumBytes: 16 << 20).get()
    }
}

struct SimulatorProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
