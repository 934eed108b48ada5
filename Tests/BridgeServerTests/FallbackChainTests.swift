// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
@testable import BridgeServer
import FoundationEssentials
import Testing

@Suite("FallbackChain: retry here, fall back there, or relay")
struct FallbackChainTests {
    static func table(_ names: [String]) -> AliasTable {
        let deployment = Deployment(model: "q", apiBase: URL(string: "http://127.0.0.1:1/v1")!, apiKey: nil)
        return AliasTable(aliases: names.map { AliasTable.Alias(name: $0, deployments: [deployment], location: SourceLocation(file: "c", line: 1, column: 1)) })
    }

    static func rule(_ pattern: String, _ targets: [String]) -> FallbackSettings.Rule {
        FallbackSettings.Rule(pattern: pattern, targets: targets, targetLocations: [])
    }

    static let aliases = table(["claude-opus-*", "claude-sonnet-*", "qwen-long", "small"])

    static func chain(retries: Int = 0, fallbacks: [FallbackSettings.Rule] = [], window: [FallbackSettings.Rule] = [], alias: String = "claude-opus-*", name: String = "claude-opus-4-5") -> FallbackChain {
        var settings = FallbackSettings()
        settings.numRetries = retries
        settings.fallbacks = fallbacks
        settings.contextWindowFallbacks = window
        return FallbackChain(alias: alias, name: name, settings: settings, aliases: aliases)
    }

    @Test("num_retries transient failures retry the alias, then it is exhausted")
    func retriesThenExhausted() {
        var chain = Self.chain(retries: 2)
        #expect(chain.failed(.transient) == .retry(alias: "claude-opus-*"))
        #expect(chain.failed(.transient) == .retry(alias: "claude-opus-*"))
        #expect(chain.failed(.transient) == .relay)
        #expect(chain.hops == 3)
    }

    @Test("an exhausted alias falls back in order, each fallback with its own retries")
    func fallsBackInOrder() {
        var chain = Self.chain(retries: 1, fallbacks: [Self.rule("claude-opus-*", ["claude-sonnet-4-5", "qwen-long"])])
        #expect(chain.failed(.transient) == .retry(alias: "claude-opus-*"))
        #expect(chain.failed(.transient) == .fallBack(alias: "claude-sonnet-*", name: "claude-sonnet-4-5"))
        #expect(chain.alias == "claude-sonnet-*")
        #expect(chain.failed(.transient) == .retry(alias: "claude-sonnet-*"))
        #expect(chain.failed(.transient) == .fallBack(alias: "qwen-long", name: "qwen-long"))
        #expect(chain.failed(.transient) == .retry(alias: "qwen-long"))
        #expect(chain.failed(.transient) == .relay)
    }

    @Test("an alias with nothing to call (every deployment drained) falls back without retrying")
    func unavailableFallsBack() {
        var chain = Self.chain(retries: 3, fallbacks: [Self.rule("*", ["small"])])
        #expect(chain.failed(.unavailable) == .fallBack(alias: "small", name: "small"))
    }

    @Test("a context-window failure goes to context_window_fallbacks only, never retried")
    func contextWindow() {
        var chain = Self.chain(retries: 2, fallbacks: [Self.rule("claude-opus-*", ["small"])], window: [Self.rule("claude-opus-4-5", ["qwen-long"])])
        #expect(chain.failed(.contextWindow) == .fallBack(alias: "qwen-long", name: "qwen-long"))
        var without = Self.chain(retries: 2, fallbacks: [Self.rule("claude-opus-*", ["small"])])
        #expect(without.failed(.contextWindow) == .relay)
    }

    @Test("a chain never loops: an alias already tried is skipped, and a fallback's own fallbacks follow")
    func neverLoops() {
        let rules = [Self.rule("claude-opus-*", ["claude-sonnet-*"]), Self.rule("claude-sonnet-*", ["claude-opus-*", "small"]), Self.rule("small", ["claude-sonnet-*"])]
        var chain = Self.chain(fallbacks: rules)
        #expect(chain.failed(.transient) == .fallBack(alias: "claude-sonnet-*", name: "claude-sonnet-*"))
        #expect(chain.failed(.transient) == .fallBack(alias: "small", name: "small"))
        #expect(chain.failed(.transient) == .relay)
    }

    @Test("the hops are bounded whatever the configuration")
    func bounded() {
        var chain = Self.chain(retries: FallbackSettings.maximumRetries, fallbacks: [Self.rule("*", ["claude-sonnet-*", "qwen-long", "small"])])
        var decisions = 0
        while chain.failed(.transient) != .relay {
            decisions += 1
            #expect(decisions < 100)
            if decisions >= 100 { break }
        }
        #expect(chain.hops == FallbackChain.maximumHops)
        #expect(decisions == FallbackChain.maximumHops - 1)
    }

    @Test("only 429, 500, 502, 503 and 504 are transient statuses")
    func transientStatuses() {
        #expect([429, 500, 502, 503, 504, 529].allSatisfy(FallbackChain.isTransient(status:)))
        #expect(![400, 401, 403, 404, 413, 422, 501, 505].contains(where: FallbackChain.isTransient(status:)))
    }

    @Test("a retry chooses among the deployments that have not failed, or among all when every one has")
    func retryPool() {
        let a = Deployment(model: "q", apiBase: URL(string: "http://127.0.0.1:1/v1")!, apiKey: nil)
        let b = Deployment(model: "q", apiBase: URL(string: "http://127.0.0.1:2/v1")!, apiKey: nil)
        let c = Deployment(model: "q", apiBase: URL(string: "http://127.0.0.1:3/v1")!, apiKey: nil)
        #expect(FallbackChain.pool([a, b, c], excluding: []) == [a, b, c])
        #expect(FallbackChain.pool([a, b, c], excluding: [b]) == [a, c])
        #expect(FallbackChain.pool([a, b], excluding: [a, b]) == [a, b])
        #expect(FallbackChain.pool([a], excluding: [a, a]) == [a])
    }

    @Test("nothing is configured by default")
    func configured() {
        #expect(!FallbackChain.isConfigured(FallbackSettings()))
        var retries = FallbackSettings()
        retries.numRetries = 1
        #expect(FallbackChain.isConfigured(retries))
    }
}
