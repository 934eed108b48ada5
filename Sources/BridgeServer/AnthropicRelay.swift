// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import FoundationEssentials
import NIOHTTP1

/// What a request relayed untranslated to an Anthropic API deployment carries, and what of its answer
/// goes back: the one place that decides which headers cross the bridge in each direction.
enum AnthropicRelay {
    /// The version sent when the client sent none (the API requires one).
    static let defaultVersion = "2023-06-01"

    /// The headers of the client's request that matter to the Anthropic API, taken at the head.
    struct ClientHeaders: Equatable {
        var version: String?
        /// Every `anthropic-beta` header, in order (each may list several betas).
        var betas: [String] = []
        var apiKey: String?
        var authorization: String?
        /// The client's other end-to-end headers, as sent and in order (Claude Code's `user-agent`,
        /// `x-app`, `x-stainless-*`, its session id…): see ``forwardsClientHeader(_:)``.
        var others: [(String, String)] = []

        init(version: String? = nil, betas: [String] = [], apiKey: String? = nil, authorization: String? = nil, others: [(String, String)] = []) {
            self.version = version
            self.betas = betas
            self.apiKey = apiKey
            self.authorization = authorization
            self.others = others
        }

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.version == rhs.version && lhs.betas == rhs.betas && lhs.apiKey == rhs.apiKey && lhs.authorization == rhs.authorization
                && lhs.others.elementsEqual(rhs.others) { $0 == $1 }
        }

        /// The client's headers; a credential that is the bridge's own `master_key` is not kept, so
        /// that `forward_client_key` never sends the bridge's key to the API.
        init(_ headers: HTTPHeaders, masterKey: String? = nil) {
            version = headers.first(name: "anthropic-version")
            betas = headers["anthropic-beta"]
            apiKey = headers.first(name: "x-api-key")
            authorization = headers.first(name: "authorization")
            others = headers.filter { AnthropicRelay.forwardsClientHeader($0.name) }
            guard let masterKey, !masterKey.isEmpty else { return }
            if let key = apiKey, Authenticator.constantTimeEquals(key, masterKey) { apiKey = nil }
            if let value = authorization, Authenticator.isAuthorized(HTTPHeaders([("authorization", value)]), masterKey: masterKey) {
                authorization = nil
            }
        }
    }

    /// `<api_base>/v1/messages` or `/v1/messages/count_tokens`; an `api_base` written with `/v1`
    /// (LiteLLM accepts both) does not get a second one.
    static func url(_ apiBase: URL, countTokens: Bool) -> String {
        var base = apiBase.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return base + (countTokens ? "/v1/messages/count_tokens" : "/v1/messages")
    }

    /// Whether a client header goes to the API as sent (the "keep Claude Code's headers"):
    /// every end-to-end header but the credentials (forwarded only with `forward_client_key`), the
    /// ones the bridge sets itself (`anthropic-version`, `anthropic-beta`, `content-type`, `accept`),
    /// the connection's own (`host`, `content-length`, hop-by-hop headers, `expect`), cookies, and
    /// `accept-encoding` (the answer is relayed byte for byte, so it must come back unencoded).
    static func forwardsClientHeader(_ name: String) -> Bool {
        let name = name.lowercased()
        return !notForwarded.contains(name) && !name.hasPrefix("proxy-")
    }

    private static let notForwarded: Set<String> = [
        "x-api-key", "authorization", "anthropic-version", "anthropic-beta", "content-type", "accept", "accept-encoding",
        "host", "content-length", "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "expect", "cookie",
    ]

    /// The request's headers upstream: content type, `anthropic-version` and `anthropic-beta` as the
    /// client sent them, the client's other end-to-end headers as sent (``forwardsClientHeader(_:)``),
    /// and the deployment's key as `x-api-key` — or, with `forward_client_key`, the client's own
    /// `x-api-key`/`Authorization` instead (the deployment's when it sent neither).
    static func upstreamHeaders(client: ClientHeaders, deployment: Deployment, streams: Bool) -> [(String, String)] {
        var headers = [
            ("content-type", "application/json"),
            ("accept", streams ? "text/event-stream" : "application/json"),
            ("anthropic-version", client.version ?? defaultVersion),
        ]
        headers += client.betas.map { ("anthropic-beta", $0) }
        headers += client.others
        if case .anthropic(forwardsClientKey: true) = deployment.api, client.apiKey != nil || client.authorization != nil {
            if let key = client.apiKey { headers.append(("x-api-key", key)) }
            if let authorization = client.authorization { headers.append(("authorization", authorization)) }
        } else if let key = deployment.apiKey?.value, !key.isEmpty {
            headers.append(("x-api-key", key))
        }
        return headers
    }

    /// Whether a header of the Anthropic API's answer goes back to the client: its type, its request
    /// id, its rate limits and its retry advice.
    static func relaysResponseHeader(_ name: String) -> Bool {
        let name = name.lowercased()
        return ["content-type", "cache-control", "request-id", "retry-after", "x-should-retry"].contains(name)
            || name.hasPrefix("anthropic-ratelimit-")
    }
}
