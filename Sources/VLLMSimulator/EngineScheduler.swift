// SPDX-License-Identifier: Apache-2.0

/// The simulated engine's scheduler: which completions run, which wait for a slot (`--max-num-seqs`),
/// the prefix cache they share, and the counters `/metrics` shows.
///
/// A plain value whose events return what to do, so it is tested without sockets: ``submit(tokens:promptTokens:)``
/// admits a request at once or queues it; ``release(_:)`` ends a running or waiting request and
/// returns the waiting ones that now run, oldest first. The prefix-cache lookup happens on admission,
/// as vLLM's scheduler does it when it takes a request off the waiting queue.
struct EngineScheduler: Sendable {
    /// What a request learns when it starts running.
    struct Admission: Sendable, Equatable {
        var ticket: Int
        /// Prompt tokens served from the prefix cache.
        var cachedTokens: Int
    }

    /// The most requests that run at once; `nil` = no limit.
    let maxRunning: Int?
    private(set) var cache: PrefixCache
    /// Prompt tokens looked up in the cache so far (`vllm:prefix_cache_queries`).
    private(set) var queriedTokens = 0
    /// Prompt tokens the cache served so far (`vllm:prefix_cache_hits`).
    private(set) var hitTokens = 0

    private struct Pending: Sendable {
        var ticket: Int
        var tokens: [Int]
        var promptTokens: Int
    }

    /// Blocks each running request holds.
    private var running: [Int: Int] = [:]
    private var waiting: [Pending] = []
    private var nextTicket = 1

    /// - Parameters:
    ///   - maxRunning: `--max-num-seqs`; `0` or less = no limit.
    ///   - kvCacheTokens: the prefix cache's size; `0` caches nothing.
    init(maxRunning: Int, kvCacheTokens: Int) {
        self.maxRunning = maxRunning > 0 ? maxRunning : nil
        cache = PrefixCache(capacityTokens: kvCacheTokens)
    }

    var runningCount: Int { running.count }
    var waitingCount: Int { waiting.count }

    /// The share of the cache's blocks that running requests hold, 0...1 (`0` without a cache).
    var kvCacheUsage: Double {
        guard cache.capacityBlocks > 0 else { return 0 }
        let held = running.values.reduce(0) { $0 &+ $1 }
        return min(1, Double(held) / Double(cache.capacityBlocks))
    }

    /// A new request: its ticket, and its admission when a slot is free (else it waits).
    mutating func submit(tokens: [Int], promptTokens: Int) -> (ticket: Int, admission: Admission?) {
        let ticket = nextTicket
        nextTicket += 1
        let pending = Pending(ticket: ticket, tokens: tokens, promptTokens: promptTokens)
        if let maxRunning, running.count >= maxRunning {
            waiting.append(pending)
            return (ticket, nil)
        }
        return (ticket, admit(pending))
    }

    /// A request finished, failed, or its client left (running or still waiting): frees its slot and
    /// returns the waiting requests that start now. Unknown tickets are ignored.
    mutating func release(_ ticket: Int) -> [Admission] {
        if running.removeValue(forKey: ticket) == nil {
            waiting.removeAll { $0.ticket == ticket }
            return []
        }
        var started: [Admission] = []
        while !waiting.isEmpty, running.count < maxRunning ?? Int.max {
            started.append(admit(waiting.removeFirst()))
        }
        return started
    }

    private mutating func admit(_ pending: Pending) -> Admission {
        let lookup = cache.admit(tokens: pending.tokens, promptTokens: pending.promptTokens)
        queriedTokens &+= lookup.queriedTokens
        hitTokens &+= lookup.cachedTokens
        let tokens = max(0, pending.promptTokens)
        let blocks = tokens / PrefixCache.blockSize + (tokens % PrefixCache.blockSize == 0 ? 0 : 1)
        running[pending.ticket] = blocks
        return Admission(ticket: pending.ticket, cachedTokens: lookup.cachedTokens)
    }
}
