// SPDX-License-Identifier: Apache-2.0
/// vllm-sim's answer to a chat completion request as bytes, made without a server or a clock: the same
/// planning and the same encoders as a served request, so the bytes are vLLM's format exactly. For
/// benchmarks and tests that feed a client-side decoder.
///
/// A served answer gets a random completion id and random tool-call ids; here both are given, so the
/// same request always gives the same bytes.
public enum SimulatedCompletion {
    /// The completion id used unless one is given (the shape of newer vLLM releases' ids).
    public static let defaultCompletionID = "chatcmpl-5b1e0f2a-7c3d-4e8f-9a0b-1c2d3e4f5a6b"
    /// The `created` time used unless one is given.
    public static let defaultCreated = 1_773_161_262

    /// `call_` and 24 hex digits ending in the call's index, the shape of qwen3_coder's tool-call ids.
    public static func defaultToolCallID(_ index: Int) -> String {
        let digits = String(index, radix: 16)
        return "call_" + String(repeating: "0", count: max(0, 24 - digits.count)) + digits
    }

    /// The `data:` events of the streamed answer (role chunk, deltas, final chunk, the usage chunk when
    /// `stream_options.include_usage` asks for it, `[DONE]`), one array per event, for `requestBody`: a
    /// `/v1/chat/completions` body with `"stream": true`, scripted as usual with `[[sim:{…}]]` in its last
    /// user message.
    ///
    /// - Parameters:
    ///   - completionID: the `id` of every chunk.
    ///   - created: the `created` Unix time of every chunk.
    ///   - toolCallID: the id of the tool call with this index.
    /// - Throws: the error vLLM (or the directive) would answer the request with; a 400 when the body
    ///   does not ask for a stream.
    public static func streamEvents(
        requestBody: [UInt8],
        configuration: SimulatorConfiguration = SimulatorConfiguration(),
        completionID: String = defaultCompletionID,
        created: Int = defaultCreated,
        toolCallID: (Int) -> String = defaultToolCallID
    ) throws(APIError) -> [[UInt8]] {
        let (request, model, generation) = try plan(requestBody, configuration: configuration, toolCallID: toolCallID)
        guard request.stream else { throw .badRequest("SimulatedCompletion.streamEvents needs a request with \"stream\": true") }
        let encoder = ChunkEncoder(id: completionID, created: created, model: model, reasoningField: configuration.reasoningField)
        return CompletionExchange.streamEvents(generation: generation, request: request).map { planned in
            CompletionExchange.bytes(
                for: planned.event, slot: planned.slot, generation: generation, request: request, encoder: encoder, errorFormat: configuration.errorFormat
            )
        }
    }

    /// The `chat.completion` body of the whole (non-streaming) answer to `requestBody`.
    ///
    /// - Throws: the error vLLM (or the directive) would answer the request with, including a scripted
    ///   `midstream_error`.
    public static func responseBody(
        requestBody: [UInt8],
        configuration: SimulatorConfiguration = SimulatorConfiguration(),
        completionID: String = defaultCompletionID,
        created: Int = defaultCreated,
        toolCallID: (Int) -> String = defaultToolCallID
    ) throws(APIError) -> [UInt8] {
        let (_, model, generation) = try plan(requestBody, configuration: configuration, toolCallID: toolCallID)
        if case .midstreamError(let error) = generation.ending { throw error }
        return CompletionResponse.body(
            generation: generation, id: completionID, created: created, model: model, reasoningField: configuration.reasoningField
        )
    }

    private static func plan(
        _ body: [UInt8], configuration: SimulatorConfiguration, toolCallID: (Int) -> String
    ) throws(APIError) -> (ChatRequest, String, Generation) {
        let (request, model, _, planned) = try SimulatorHTTPHandler.plan(body: body, configuration: configuration)
        var generation = planned
        for index in generation.steps.indices {
            if case .toolCallStart(let call, _, let name)? = generation.steps[index].delta {
                generation.steps[index].delta = .toolCallStart(index: call, id: toolCallID(call), name: name)
            }
        }
        return (request, model, generation)
    }
}
