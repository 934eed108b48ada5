// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import NIOCore
import Testing
@testable import VLLMSimulator

/// The prefix-cache model, the engine's queue and the `/metrics` page, without sockets.
@Suite("prefix cache and engine")
struct PrefixCacheTests {
    /// `count` distinct token ids starting at `first`.
    static func tokens(_ first: Int, _ count: Int) -> [Int] { Array(first..<first + count) }

    @Test("a prompt sharing a prefix with an earlier one hits its full leading blocks")
    func sharedPrefixHits() {
        var cache = PrefixCache(capacityTokens: 1024)
        let first = cache.admit(tokens: Self.tokens(0, 100), promptTokens: 100)
        #expect(first == .init(cachedTokens: 0, queriedTokens: 100))
        let second = Self.tokens(0, 70) + Self.tokens(5000, 40)
        // 70 shared tokens = 4 full blocks (64); the fifth block differs from token 70 on.
        #expect(cache.admit(tokens: second, promptTokens: second.count) == .init(cachedTokens: 64, queriedTokens: 110))
    }

    @Test("a divergent block breaks the chain: identical blocks after it do not hit")
    func divergentBlockBreaksChain() {
        var cache = PrefixCache(capacityTokens: 1024)
        let original = Self.tokens(0, 65)
        _ = cache.admit(tokens: original, promptTokens: 65)
        var edited = original
        edited[20] = 99_999  // in block 1; blocks 2 and 3 keep their tokens
        #expect(cache.admit(tokens: edited, promptTokens: 65).cachedTokens == 16)
        // Both versions are cached now, each as its own chain.
        #expect(cache.admit(tokens: original, promptTokens: 65).cachedTokens == 64)
        #expect(cache.admit(tokens: edited, promptTokens: 65).cachedTokens == 64)
    }

    @Test("only full blocks are cached, and the last prompt token is always recomputed")
    func partialBlocksAndLastToken() {
        var cache = PrefixCache(capacityTokens: 1024)
        _ = cache.admit(tokens: Self.tokens(0, 40), promptTokens: 40)  // 2 full blocks + 8 tokens
        #expect(cache.cachedBlocks == 2)
        #expect(cache.admit(tokens: Self.tokens(0, 48), promptTokens: 48).cachedTokens == 32)  // not 40
        // The same 48 tokens again: all 3 blocks cached, but at most 47 tokens may hit → 2 blocks.
        #expect(cache.admit(tokens: Self.tokens(0, 48), promptTokens: 48).cachedTokens == 32)
        #expect(cache.admit(tokens: Self.tokens(0, 49), promptTokens: 49).cachedTokens == 48)
        #expect(PrefixCache.blockHashes(Self.tokens(0, 15)).isEmpty)
    }

    @Test("at capacity the least recently used blocks are evicted")
    func lruEviction() {
        var cache = PrefixCache(capacityTokens: 64)  // 4 blocks
        let x = Self.tokens(1000, 33), y = Self.tokens(2000, 33), z = Self.tokens(3000, 33)  // 2 full blocks each
        _ = cache.admit(tokens: x, promptTokens: 33)
        _ = cache.admit(tokens: y, promptTokens: 33)
        #expect(cache.admit(tokens: x, promptTokens: 33).cachedTokens == 32)  // x is now newer than y
        #expect(cache.admit(tokens: z, promptTokens: 33).cachedTokens == 0)  // evicts y
        #expect(cache.cachedBlocks == 4)
        #expect(cache.admit(tokens: y, promptTokens: 33).cachedTokens == 0)  // evicts x
        #expect(cache.admit(tokens: z, promptTokens: 33).cachedTokens == 32)
        #expect(cache.admit(tokens: x, promptTokens: 33).cachedTokens == 0)
    }

    @Test("a prompt longer than the cache keeps its first blocks (the tail is evicted first)")
    func longPromptKeepsItsHead() {
        var cache = PrefixCache(capacityTokens: 32)  // 2 blocks
        let long = Self.tokens(0, 81)  // 5 blocks
        _ = cache.admit(tokens: long, promptTokens: 81)
        #expect(cache.cachedBlocks == 2)
        #expect(cache.admit(tokens: long, promptTokens: 81).cachedTokens == 32)
    }

    @Test("no capacity: nothing is cached, queries still count")
    func noCache() {
        var cache = PrefixCache(capacityTokens: 0)
        _ = cache.admit(tokens: Self.tokens(0, 64), promptTokens: 64)
        #expect(cache.admit(tokens: Self.tokens(0, 64), promptTokens: 64) == .init(cachedTokens: 0, queriedTokens: 64))
    }

    @Test("the cache sees the tools first: a tool list shared by two prompts is a shared prefix")
    func toolsComeFirst() {
        let tools: [JSONValue] = [["type": "function", "function": ["name": .string(String(repeating: "t", count: 200))]]]
        let one = PrefixCache.tokenIDs(messages: [["role": "user", "content": "one"]], tools: tools)
        let two = PrefixCache.tokenIDs(messages: [["role": "user", "content": "two"]], tools: tools)
        var cache = PrefixCache(capacityTokens: 1024)
        _ = cache.admit(tokens: one, promptTokens: one.count)
        #expect(cache.admit(tokens: two, promptTokens: two.count).cachedTokens >= 48)
    }

    @Test("the engine admits up to max-num-seqs, queues the rest, and starts them in order as slots free")
    func engineQueue() {
        var engine = EngineScheduler(maxRunning: 1, kvCacheTokens: 1024)
        let prompt = Self.tokens(0, 40)
        let first = engine.submit(tokens: prompt, promptTokens: 40)
        #expect(first.admission == .init(ticket: first.ticket, cachedTokens: 0))
        let second = engine.submit(tokens: prompt, promptTokens: 40)
        let third = engine.submit(tokens: Self.tokens(500, 40), promptTokens: 40)
        #expect(second.admission == nil && third.admission == nil)
        #expect(engine.runningCount == 1 && engine.waitingCount == 2)
        // The cache lookup happens on admission, so the second finds the first's blocks.
        #expect(engine.release(first.ticket) == [.init(ticket: second.ticket, cachedTokens: 32)])
        #expect(engine.runningCount == 1 && engine.waitingCount == 1)
        // A waiting client that leaves frees its place without starting anyone; unknown tickets are ignored.
        #expect(engine.release(third.ticket).isEmpty)
        #expect(engine.release(12345).isEmpty)
        #expect(engine.runningCount == 1 && engine.waitingCount == 0)
        #expect(engine.release(second.ticket).isEmpty)
        #expect(engine.runningCount == 0)
        #expect(engine.queriedTokens == 80 && engine.hitTokens == 32)
    }

    @Test("no max-num-seqs: every request runs at once; KV usage is the running requests' blocks over the pool")
    func engineUnlimited() {
        var engine = EngineScheduler(maxRunning: 0, kvCacheTokens: 160)  // 10 blocks
        let tickets = (0..<3).map { engine.submit(tokens: Self.tokens($0 * 100, 40), promptTokens: 40) }
        #expect(tickets.allSatisfy { $0.admission != nil })
        #expect(engine.runningCount == 3 && engine.waitingCount == 0)
        #expect(engine.kvCacheUsage == 0.9)  // 3 blocks each
        _ = engine.submit(tokens: Self.tokens(900, 40), promptTokens: 40)
        #expect(engine.kvCacheUsage == 1)
        #expect(EngineScheduler(maxRunning: 0, kvCacheTokens: 0).kvCacheUsage == 0)
    }

    @Test("extreme prompt counts neither trap nor overflow")
    func extremeCounts() {
        var engine = EngineScheduler(maxRunning: 0, kvCacheTokens: 1024)
        #expect(engine.submit(tokens: Self.tokens(0, 40), promptTokens: Int.max).admission?.cachedTokens == 0)
        #expect(engine.submit(tokens: Self.tokens(0, 40), promptTokens: Int.min).admission?.cachedTokens == 0)
        #expect(engine.kvCacheUsage == 1)
        var cache = PrefixCache(capacityTokens: Int.max)
        #expect(cache.admit(tokens: [], promptTokens: 0) == .init(cachedTokens: 0, queriedTokens: 0))
    }

    @Test("prefill time = uncached prompt tokens ÷ prefill-tokens-per-second, zero when unset, at most a day")
    func prefillDelay() {
        let configured = SimulatorConfiguration(prefillTokensPerSecond: 2000)
        #expect(configured.prefillDelay(uncachedTokens: 500) == .milliseconds(250))
        #expect(configured.prefillDelay(uncachedTokens: 0) == .zero)
        #expect(configured.prefillDelay(uncachedTokens: Int.max) == .seconds(86_400))
        #expect(SimulatorConfiguration().prefillDelay(uncachedTokens: 100_000) == .zero)
        #expect(SimulatorConfiguration(prefillTokensPerSecond: .nan).prefillDelay(uncachedTokens: 10) == .zero)
    }

    @Test("sample values are written as prometheus_client's floatToGoString writes them")
    func goFloat() {
        #expect(MetricsPage.goFloat(0) == "0.0")
        #expect(MetricsPage.goFloat(3) == "3.0")
        #expect(MetricsPage.goFloat(0.25) == "0.25")
        #expect(MetricsPage.goFloat(123_456) == "123456.0")
        #expect(MetricsPage.goFloat(1_234_567) == "1.234567e+06")
        #expect(MetricsPage.goFloat(10_000_000) == "1e+07")
        #expect(MetricsPage.goFloat(1_786_910_601.1177013) == "1.7869106011177013e+09")
    }

    @Test("the metrics page: vLLM's HELP/TYPE lines, engine and model_name labels, counters with _created")
    func metricsPage() {
        let metrics = EngineMetrics(running: 2, waiting: 1, kvCacheUsage: 0.5, prefixCacheQueries: 300, prefixCacheHits: 128)
        let current = String(decoding: MetricsPage.body(metrics, modelName: #"m"x"#, createdAt: 1_786_910_601.5, names: .current), as: UTF8.self)
        let labels = #"{engine="0",model_name="m\"x"}"#
        #expect(current == """
            # HELP vllm:num_requests_running Number of requests in model execution batches.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running\(labels) 2.0
            # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
            # TYPE vllm:num_requests_waiting gauge
            vllm:num_requests_waiting\(labels) 1.0
            # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
            # TYPE vllm:kv_cache_usage_perc gauge
            vllm:kv_cache_usage_perc\(labels) 0.5
            # HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
            # TYPE vllm:prefix_cache_queries_total counter
            vllm:prefix_cache_queries_total\(labels) 300.0
            # HELP vllm:prefix_cache_queries_created Prefix cache queries, in terms of number of queried tokens.
            # TYPE vllm:prefix_cache_queries_created gauge
            vllm:prefix_cache_queries_created\(labels) 1.7869106015e+09
            # HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
            # TYPE vllm:prefix_cache_hits_total counter
            vllm:prefix_cache_hits_total\(labels) 128.0
            # HELP vllm:prefix_cache_hits_created Prefix cache hits, in terms of number of cached tokens.
            # TYPE vllm:prefix_cache_hits_created gauge
            vllm:prefix_cache_hits_created\(labels) 1.7869106015e+09

            """)
        let legacy = String(decoding: MetricsPage.body(metrics, modelName: "m", createdAt: 1, names: .legacy), as: UTF8.self)
        #expect(legacy.contains(#"vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.5"#))
        #expect(legacy.contains(#"vllm:gpu_prefix_cache_queries_total{engine="0",model_name="m"} 300.0"#))
        #expect(legacy.contains(#"vllm:gpu_prefix_cache_hits_total{engine="0",model_name="m"} 128.0"#))
        #expect(legacy.contains("# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n"))
        #expect(!legacy.contains("vllm:kv_cache_usage_perc") && !legacy.contains("vllm:prefix_cache"))
    }
}
