// SPDX-License-Identifier: Apache-2.0
/// Which message/delta field carries reasoning text, i.e. which vLLM release to imitate.
public enum ReasoningFieldMode: String, Sendable, CaseIterable {
    /// `reasoning` only: vLLM 0.17 and later.
    case reasoning
    /// `reasoning_content` only: vLLM 0.11 and earlier.
    case reasoningContent = "reasoning_content"
    /// Both fields with identical values, and `"reasoning_content":null` plus a top-level
    /// `"prompt_token_ids":null` in the first stream chunk: the releases between PR #27752 and #33402.
    case both
}

/// The shape of error bodies, i.e. which vLLM release to imitate.
public enum ErrorFormat: String, Sendable, CaseIterable {
    /// `{"error":{"message","type","param","code"}}`: vLLM 0.10.1 and later.
    case new
    /// Flat `{"object":"error","message","type","param","code"}`: before vLLM 0.10.1.
    case old
}
