// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import LoadGenerator

/// One kind of request, as the three paths receive it: an Anthropic Messages body for the proxies,
/// and for the simulator directly the OpenAI body spark-bridge itself would send for it (translated
/// here by the same code), so the floor carries the same work for the backend.
struct Workload: Sendable {
    let name: String
    let anthropicBody: [UInt8]
    let openAIBody: [UInt8]
    let streams: Bool
    /// Token events a whole streamed answer carries.
    let expectedTokenEvents: Int?

    /// `anthropicBody` must be a valid Messages request naming `clientModel`.
    init(name: String, anthropicBody: [UInt8], backendModel: String, expectedTokenEvents: Int? = nil) throws {
        let translation = try MessagesRequestTranslation.translate(body: anthropicBody, endpoint: .messages) { (_: String) throws(AnthropicError) in backendModel }
        self.name = name
        self.anthropicBody = anthropicBody
        self.openAIBody = JSONValue.object(translation.translated.body).jsonBytes
        self.streams = translation.streams
        self.expectedTokenEvents = expectedTokenEvents
    }

    /// A short chat turn answered with `words` words after `ttftMilliseconds`, paced at
    /// `tokensPerSecond` (0: at once). The simulator reads the directive in the last user message.
    static func chat(name: String, clientModel: String, backendModel: String, stream: Bool, words: Int, ttftMilliseconds: Int, tokensPerSecond: Int) throws -> Workload {
        let answer = (0..<words).map { Self.vocabulary[$0 % Self.vocabulary.count] }.joined(separator: " ")
        let directive = #"[[sim:{"text":"\#(answer)","ttft_ms":\#(ttftMilliseconds),"tokens_per_second":\#(tokensPerSecond)}]]"#
        let body: JSONValue = .object([
            "model": .string(clientModel),
            "max_tokens": .number(String(words * 2 + 16)),
            "stream": .bool(stream),
            "messages": .array([
                .object(["role": "user", "content": .string("Summarise the build log in one paragraph. \(directive)")]),
            ]),
        ])
        return try Workload(name: name, anthropicBody: body.jsonBytes, backendModel: backendModel, expectedTokenEvents: stream ? words : nil)
    }

    private static let vocabulary = [
        "the", "build", "finished", "with", "two", "warnings", "in", "module", "BridgeCore", "and", "all",
        "tests", "passed", "after", "retrying", "once", "because", "a", "socket", "was", "busy",
    ]
}

/// The three ways a client can reach the same backend.
enum PathKind: String, CaseIterable, Sendable {
    case direct = "vLLM direct (OpenAI API)"
    case bridge = "spark-bridge"
    case litellm = "LiteLLM proxy"
}

/// Where a path listens and how a request is sent to it.
struct BenchPath: Sendable {
    let kind: PathKind
    let host: String
    let port: Int
    let apiKey: String

    func request(for workload: Workload) -> LoadRequest {
        switch kind {
        case .direct:
            return LoadRequest(
                host: host, port: port, path: "/v1/chat/completions", body: workload.openAIBody,
                streams: workload.streams, dialect: .openAI, expectedTokenEvents: workload.expectedTokenEvents
            )
        case .bridge, .litellm:
            return LoadRequest(
                host: host, port: port, path: "/v1/messages",
                headers: [("x-api-key", apiKey), ("anthropic-version", "2023-06-01")],
                body: workload.anthropicBody, streams: workload.streams, dialect: .anthropic,
                expectedTokenEvents: workload.expectedTokenEvents
            )
        }
    }
}
