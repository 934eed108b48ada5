// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// vLLM's automatic prefix cache, as a value: full blocks of 16 prompt tokens, each known by a hash
/// chained to the hash of the block before it, kept in a least-recently-used pool of a fixed number
/// of blocks.
///
/// What it models of vLLM v1 (`vllm/v1/core/kv_cache_utils.py` `hash_block_tokens`,
/// `kv_cache_manager.py` `get_computed_blocks`, `block_pool.py`):
/// - only full blocks are hashed and cached; a block's hash covers (parent hash, its token ids), so a
///   block hits only when every block before it matches too;
/// - a request's cached tokens are the longest run of leading blocks present, never more than
///   `promptTokens - 1` (the last prompt token is always recomputed to get logits), so a fully cached
///   prompt of 32 tokens reports 16;
/// - after the lookup the request's blocks are the most recently used, the first block most of all
///   (vLLM frees a request's blocks in reverse order, so its tail is evicted first);
/// - when the pool is full, the least recently used block is evicted.
///
/// What it leaves out: blocks of generated tokens (the next turn's prompt renders the answer with the
/// chat template anyway), and pinning the blocks of running requests against eviction.
///
/// The tokens are ``PromptTokenEstimator``'s ids, with the tools first (Qwen3's chat template renders
/// them in the system turn, ahead of every message); see ``PrefixCache/tokenIDs(messages:tools:)``.
public struct PrefixCache: Sendable {
    /// Tokens per block (vLLM's default `--block-size` on CUDA).
    public static let blockSize = 16

    /// What one lookup found and cost.
    public struct Lookup: Sendable, Equatable {
        /// Prompt tokens whose KV came from the cache (a multiple of ``PrefixCache/blockSize``).
        public var cachedTokens: Int
        /// Prompt tokens the request asked for (counted by `vllm:prefix_cache_queries`).
        public var queriedTokens: Int
    }

    /// How many blocks the pool holds.
    public let capacityBlocks: Int

    private struct Entry: Sendable {
        var hash: UInt64
        var older: Int
        var newer: Int
    }

    /// Slot of each cached block hash.
    private var slots: [UInt64: Int] = [:]
    /// The pool as a doubly linked list over slot indices, oldest at `oldest`.
    private var entries: [Entry] = []
    private var freeSlots: [Int] = []
    private var oldest = -1
    private var newest = -1

    /// A pool of `capacityTokens / 16` blocks; `0` caches nothing.
    public init(capacityTokens: Int) {
        capacityBlocks = max(0, capacityTokens) / Self.blockSize
    }

    /// Blocks currently cached.
    public var cachedBlocks: Int { slots.count }

    /// The chained hashes of the full blocks of `tokens`, in order; a trailing partial block has none.
    public static func blockHashes(_ tokens: [Int]) -> [UInt64] {
        var hashes: [UInt64] = []
        hashes.reserveCapacity(tokens.count / blockSize)
        var parent: UInt64 = 0x9E37_79B9_7F4A_7C15  // the chain's root, like vLLM's NONE_HASH
        var start = 0
        while start + blockSize <= tokens.count {
            var hash = mix(parent)
            for token in tokens[start..<start + blockSize] {
                hash = mix(hash ^ UInt64(truncatingIfNeeded: token))
            }
            hashes.append(hash)
            parent = hash
            start += blockSize
        }
        return hashes
    }

    /// The token sequence the cache sees for a chat prompt: the tools' ids, then the messages'.
    public static func tokenIDs(messages: [JSONValue], tools: [JSONValue]?) -> [Int] {
        PromptTokenEstimator.tokenIDs(messages: [], tools: tools)
            + PromptTokenEstimator.tokenIDs(messages: messages, tools: nil)
    }

    /// Looks the prompt up, then caches its full blocks as the most recently used.
    ///
    /// - Parameters:
    ///   - tokens: the prompt's token ids.
    ///   - promptTokens: the prompt length the request reports (normally `tokens.count`); bounds the
    ///     hit to `promptTokens - 1`.
    public mutating func admit(tokens: [Int], promptTokens: Int) -> Lookup {
        let hashes = Self.blockHashes(tokens)
        let maximumBlocks = (max(1, promptTokens) - 1) / Self.blockSize
        var hitBlocks = 0
        while hitBlocks < min(maximumBlocks, hashes.count), slots[hashes[hitBlocks]] != nil {
            hitBlocks += 1
        }
        // Last block first, so the first block ends up the newest and is evicted last.
        for hash in hashes.reversed() { touch(hash) }
        return Lookup(cachedTokens: hitBlocks * Self.blockSize, queriedTokens: max(0, promptTokens))
    }

    /// Marks `hash` the most recently used, inserting it (and evicting the oldest) when absent.
    private mutating func touch(_ hash: UInt64) {
        guard capacityBlocks > 0 else { return }
        if let slot = slots[hash] {
            unlink(slot)
            link(slot)
            return
        }
        if slots.count == capacityBlocks {
            let victim = oldest
            unlink(victim)
            slots[entries[victim].hash] = nil
            freeSlots.append(victim)
        }
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            entries[slot].hash = hash
        } else {
            slot = entries.count
            entries.append(Entry(hash: hash, older: -1, newer: -1))
        }
        slots[hash] = slot
        link(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let entry = entries[slot]
        if entry.older >= 0 { entries[entry.older].newer = entry.newer } else { oldest = entry.newer }
        if entry.newer >= 0 { entries[entry.newer].older = entry.older } else { newest = entry.older }
    }

    private mutating func link(_ slot: Int) {
        entries[slot].older = newest
        entries[slot].newer = -1
        if newest >= 0 { entries[newest].newer = slot } else { oldest = slot }
        newest = slot
    }

    /// SplitMix64's finaliser: a fast, well-spread 64-bit mix (vLLM uses SHA-256 or Python's `hash`;
    /// only equality matters here).
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
