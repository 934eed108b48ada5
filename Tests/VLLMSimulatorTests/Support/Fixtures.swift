// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Foundation
import NIOPosix
import VLLMSimulator

/// The recorded/constructed vLLM payloads in `shared/protocol/vllm`.
enum Fixtures {
    /// `<repo>/../shared/protocol/vllm`, or `$SPARK_PROTOCOL_DIR/vllm`.
    static var directory: URL {
        if let root = ProcessInfo.processInfo.environment["SPARK_PROTOCOL_DIR"] {
            return URL(fileURLWithPath: root).appendingPathComponent("vllm")
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/protocol/vllm")
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func json(_ name: String) throws -> JSONValue { try JSONParser.parse(text(name)) }
}

/// Server-sent events helpers.
enum SSE {
    /// The payloads of `data: …` events.
    static func events(_ text: String) -> [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : event
        }
    }

    /// Replaces what differs between runs: completion ids, `created`, tool call ids.
    static func normalize(_ text: String) -> String {
        var text = text.replacing(/chatcmpl-[0-9a-f-]{32,36}/, with: "chatcmpl-ID")
        text = text.replacing(/"created":\d+/, with: #""created":0"#)
        text = text.replacing(/call_[0-9a-f]{24}/, with: "call_ID")
        return text
    }

    /// Also blanks the usage numbers that depend on the token estimate.
    static func normalizeUsage(_ text: String) -> String {
        normalize(text).replacing(/"total_tokens":\d+,"completion_tokens":\d+/, with: #""total_tokens":N,"completion_tokens":N"#)
    }
}

/// Runs `body` against a fresh simulator on 127.0.0.1, port 0.
func withSimulator<Result>(
    _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
    _ body: (SimulatorServer) async throws -> Result
) async throws -> Result {
    let server = try await SimulatorServer.start(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

/// A chat request body whose last user message carries `[[sim:directive]]`.
func chatRequest(
    model: String = SimulatorConfiguration.defaultModel,
    directive: JSONValue? = nil,
    userText: String = "Hi",
    stream: Bool = false,
    includeUsage: Bool = false,
    extra: JSONObject = [:]
) -> JSONValue {
    var text = userText
    if let directive { text += " [[sim:\(directive.jsonString)]]" }
    var object: JSONObject = [
        "model": .string(model),
        "messages": [["role": "user", "content": .string(text)]],
    ]
    if stream {
        object["stream"] = true
        if includeUsage { object["stream_options"] = ["include_usage": true] }
    }
    for member in extra.members { object[member.key] = member.value }
    return .object(object)
}
