// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import Foundation
import Testing

/// The shared protocol fixtures (`../shared/protocol` beside the repository, or
/// `$SPARK_BRIDGE_PROTOCOL_DIR`). A missing fixture fails the test that needs it.
enum Fixtures {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["SPARK_BRIDGE_PROTOCOL_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/protocol")
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("fixture \(url.path) is missing")
            throw FixtureMissing(path: url.path)
        }
        return Array(data)
    }

    static func json(_ name: String) throws -> JSONValue {
        try JSONParser.parse(try bytes(name))
    }

    /// The `data` payloads of an SSE fixture, in order.
    static func ssePayloads(_ name: String) throws -> [[UInt8]] {
        var decoder = SSEDecoder()
        var payloads = try decoder.feed(try bytes(name))
        if let last = decoder.finish() { payloads.append(last) }
        return payloads
    }

    /// The upstream items of an OpenAI/vLLM SSE fixture.
    static func upstreamItems(_ name: String) throws -> [UpstreamStreamItem] {
        try ssePayloads(name).map(UpstreamStreamItem.init(data:))
    }

    /// The events of an Anthropic SSE fixture as (event name, JSON data).
    static func anthropicEvents(_ name: String) throws -> [(String, JSONValue)] {
        let text = String(decoding: try bytes(name), as: UTF8.self)
        var result: [(String, JSONValue)] = []
        for block in text.components(separatedBy: "\n\n") {
            var name: String?
            var data: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            if let name, let data { result.append((name, try JSONParser.parse(data))) }
        }
        return result
    }

    struct FixtureMissing: Error { var path: String }
}

/// Helpers shared by the suites.
enum Translate {
    static func request(_ json: JSONValue, backend: String = "Qwen/Qwen3-Coder-30B-A3B-Instruct", endpoint: AnthropicRequest.Endpoint = .messages) throws -> TranslatedRequest {
        let request = try AnthropicRequest(json: json, endpoint: endpoint)
        return try RequestTranslator.translate(request) { (_: String) throws(AnthropicError) in backend }
    }

    static func context(
        tools: [String: JSONValue] = [:], stop: [String] = [], thinking: AnthropicThinking? = nil, prefill: Bool = false
    ) -> TranslationContext {
        TranslationContext(
            clientModel: "claude-sonnet-4-5-20250929", backendModel: "Qwen/Qwen3-Coder-30B-A3B-Instruct",
            toolSchemas: tools, stopSequences: stop, thinking: thinking, continuesPrefill: prefill
        )
    }

    /// Runs upstream items through the state machine (then end of stream) and returns all events.
    static func stream(_ items: [UpstreamStreamItem], context: TranslationContext) -> [AnthropicStreamEvent] {
        var translator = StreamTranslator(context: context)
        var events: [AnthropicStreamEvent] = []
        for item in items { events += translator.consume(item) }
        events += translator.endOfStream()
        return events
    }

    static func accumulate(_ events: [AnthropicStreamEvent]) throws -> AnthropicMessage {
        var accumulator = MessageAccumulator()
        for event in events { try accumulator.add(event) }
        return try #require(accumulator.message)
    }
}

extension JSONValue {
    /// The messages of a translated request body.
    var messageList: [JSONValue] { self["messages"]?.arrayValue ?? [] }
}
