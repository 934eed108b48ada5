// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A `/v1/messages` or `/v1/messages/count_tokens` body on its way to the backend: parsed, validated
/// (``AnthropicRequest``) and translated (``RequestTranslator``). The one entry point of the request
/// translation, used by the daemon's exchange and by both benchmarks, so they measure what it runs.
public struct MessagesRequestTranslation: Sendable {
    /// The client's model name, as it asked for it.
    public var clientModel: String
    /// The OpenAI request, its response context and the warnings of the translation.
    public var translated: TranslatedRequest
    /// Claude Code's session id (`metadata.user_id`), which keys the prompt-size calibration.
    public var session: String?

    /// Whether the backend is asked for a stream (only `/v1/messages` with `stream: true`).
    public var streams: Bool { translated.body["stream"] == true }

    /// Parses, validates and translates `body` sent to `endpoint`. `resolveModel` maps the client's
    /// model name to the backend model id, or throws the error the client gets (an unknown alias,
    /// no backend up); it is called once, after the body is valid. Errors are Anthropic-shaped:
    /// `invalid_request_error` for a body that is not JSON or not a valid request.
    public static func translate(
        body: [UInt8],
        endpoint: AnthropicRequest.Endpoint,
        options: RequestTranslationOptions = RequestTranslationOptions(),
        resolveModel: (String) throws(AnthropicError) -> String
    ) throws(AnthropicError) -> MessagesRequestTranslation {
        try translate(body: body, endpoint: endpoint, options: options) { (routing: RoutingRequest) throws(AnthropicError) in
            try resolveModel(routing.model)
        }
    }

    /// Like ``translate(body:endpoint:options:resolveModel:)``, for a caller that routes by more than
    /// the model name: `route` sees the request's ``RoutingRequest`` (its session, for session affinity).
    public static func translate(
        body: [UInt8],
        endpoint: AnthropicRequest.Endpoint,
        options: RequestTranslationOptions = RequestTranslationOptions(),
        route: (RoutingRequest) throws(AnthropicError) -> String
    ) throws(AnthropicError) -> MessagesRequestTranslation {
        let json: JSONValue
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw AnthropicError(.invalidRequest, "The request body is not valid JSON: \(error)")
        }
        let request = try AnthropicRequest(json: json, endpoint: endpoint)
        let session = ClientSession.id(in: json)
        let translated = try RequestTranslator.translate(request, options: options) { (model: String) throws(AnthropicError) in
            try route(RoutingRequest(model: model, request: request, session: session))
        }
        return MessagesRequestTranslation(clientModel: request.model, translated: translated, session: session)
    }
}

/// What routing sees of a request when it picks a deployment: the model name the client asked for,
/// and what identifies its conversation.
public struct RoutingRequest: Sendable {
    /// The client's model name.
    public let model: String
    /// The validated request.
    public let request: AnthropicRequest
    /// Claude Code's session id from `metadata.user_id`.
    public let session: String?

    /// The request's ``SessionKey`` without the session header: computed on demand, as only session
    /// affinity over several deployments needs it.
    public func sessionKey() -> SessionKey? {
        SessionKey(request: request, metadataSession: session)
    }
}
