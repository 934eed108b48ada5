// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import BridgeConfig
import FoundationEssentials
import NIOHTTP1
import Testing

@Suite("Headers and URL of a request relayed to the Anthropic API")
struct AnthropicRelayTests {
    static let base = URL(string: "https://127.0.0.1:8443")!

    static func deployment(key: String? = "sk-deployment", forwardsClientKey: Bool = false) -> Deployment {
        Deployment(model: "claude-opus-4-5", apiBase: base, apiKey: key.map(Secret.init), api: .anthropic(forwardsClientKey: forwardsClientKey))
    }

    static let client = AnthropicRelay.ClientHeaders(HTTPHeaders([
        ("Anthropic-Version", "2023-06-01"), ("anthropic-beta", "a-2025"), ("anthropic-beta", "b-2025,c-2025"),
        ("x-api-key", "sk-client"), ("Authorization", "Bearer sk-client-token"), ("x-claude-code-session-id", "s1"), ("cookie", "c"),
    ]))

    @Test("the version, every beta and the client's other headers go out as sent, with the deployment's key; the client's key, token and cookies never do")
    func defaultHeaders() {
        let headers = AnthropicRelay.upstreamHeaders(client: Self.client, deployment: Self.deployment(), streams: true)
        #expect(headers.map { "\($0.0): \($0.1)" } == [
            "content-type: application/json", "accept: text/event-stream", "anthropic-version: 2023-06-01",
            "anthropic-beta: a-2025", "anthropic-beta: b-2025,c-2025", "x-claude-code-session-id: s1", "x-api-key: sk-deployment",
        ])
        #expect(!headers.contains { $0.1.contains("sk-client") })
    }

    @Test("forward_client_key sends the client's x-api-key and Authorization instead of the deployment's key")
    func forwardedKey() {
        let headers = AnthropicRelay.upstreamHeaders(client: Self.client, deployment: Self.deployment(forwardsClientKey: true), streams: false)
        #expect(headers.filter { ["x-api-key", "authorization"].contains($0.0) }.map(\.1) == ["sk-client", "Bearer sk-client-token"])
        #expect(!headers.contains { $0.1 == "sk-deployment" })
        // A client that sent no key gets the deployment's.
        let keyless = AnthropicRelay.upstreamHeaders(client: .init(version: "2023-06-01"), deployment: Self.deployment(forwardsClientKey: true), streams: false)
        #expect(keyless.filter { $0.0 == "x-api-key" }.map(\.1) == ["sk-deployment"])
    }

    @Test("the bridge's own master key is never forwarded: the client's other credential is, else the deployment's key")
    func masterKeyNotForwarded() {
        let tokenAndMaster = AnthropicRelay.ClientHeaders(HTTPHeaders([("x-api-key", "sk-master"), ("authorization", "Bearer sk-ant-oat-user")]), masterKey: "sk-master")
        let forwarded = AnthropicRelay.upstreamHeaders(client: tokenAndMaster, deployment: Self.deployment(forwardsClientKey: true), streams: false)
        #expect(forwarded.filter { ["x-api-key", "authorization"].contains($0.0) }.map { "\($0.0): \($0.1)" } == ["authorization: Bearer sk-ant-oat-user"])
        let onlyMaster = AnthropicRelay.ClientHeaders(HTTPHeaders([("authorization", "Bearer sk-master")]), masterKey: "sk-master")
        let fallback = AnthropicRelay.upstreamHeaders(client: onlyMaster, deployment: Self.deployment(forwardsClientKey: true), streams: false)
        #expect(fallback.filter { ["x-api-key", "authorization"].contains($0.0) }.map { "\($0.0): \($0.1)" } == ["x-api-key: sk-deployment"])
    }

    @Test("Claude Code's own headers cross as sent; the connection's, the credentials and encodings do not", arguments: [
        ("User-Agent", true), ("x-app", true), ("X-Stainless-Lang", true), ("anthropic-dangerous-direct-browser-access", true),
        ("X-Claude-Code-Session-Id", true), ("x-api-key", false), ("Authorization", false), ("Host", false), ("Content-Length", false),
        ("Connection", false), ("Transfer-Encoding", false), ("Accept-Encoding", false), ("Cookie", false), ("Proxy-Authorization", false),
        ("Expect", false), ("anthropic-version", false), ("anthropic-beta", false),
    ])
    func forwardedClientHeaders(name: String, forwarded: Bool) {
        #expect(AnthropicRelay.forwardsClientHeader(name) == forwarded)
    }

    @Test("a client without anthropic-version gets the API's base version; a deployment without a key sends none")
    func defaultsWhenMissing() {
        let headers = AnthropicRelay.upstreamHeaders(client: .init(), deployment: Self.deployment(key: nil), streams: false)
        #expect(headers.map(\.0) == ["content-type", "accept", "anthropic-version"])
        #expect(headers.last?.1 == AnthropicRelay.defaultVersion)
    }

    @Test("the URL is <api_base>/v1/messages (or count_tokens), whether api_base ends in /v1 or not")
    func url() {
        #expect(AnthropicRelay.url(Self.base, countTokens: false) == "https://127.0.0.1:8443/v1/messages")
        #expect(AnthropicRelay.url(URL(string: "https://gw.example/anthropic/v1")!, countTokens: true) == "https://gw.example/anthropic/v1/messages/count_tokens")
    }

    @Test("of the API's answer, only type, request id, rate limits and retry advice go back", arguments: [
        ("Content-Type", true), ("request-id", true), ("anthropic-ratelimit-requests-remaining", true), ("Retry-After", true),
        ("x-should-retry", true), ("cache-control", true), ("set-cookie", false), ("cf-ray", false), ("content-length", false),
        ("transfer-encoding", false), ("connection", false),
    ])
    func responseHeaders(name: String, relayed: Bool) {
        #expect(AnthropicRelay.relaysResponseHeader(name) == relayed)
    }
}
