// SPDX-License-Identifier: Apache-2.0
/// How many tokens the backend is asked to write, so that the first call fits.
///
/// vLLM refuses a request whose prompt plus `max_tokens` exceeds the model's window (`max_model_len`),
/// after it has tokenized the whole prompt. Claude Code asks for 32000 (sonnet class) or 128000
/// (opus class) whatever the window, so sent unchanged every turn would cost a refused call first.
/// Two invariants: never send a `max_tokens` that cannot fit, never let the model write more than the
/// client asked.
public enum OutputBudget {
    /// What to do with the request's `max_tokens`.
    public enum Decision: Sendable, Equatable {
        /// Send it as asked: it fits, or nothing is known that says otherwise.
        case unchanged
        /// Leave `max_tokens` out: the client asked for at least the whole window, and vLLM then allows
        /// what the prompt leaves, which is less than asked.
        case omitted
        /// Send this smaller value: the room the estimated prompt leaves.
        case clamped(Int)
    }

    /// The decision for `requested` tokens against `window`, with the prompt estimated at
    /// `estimatedPromptTokens` (an over-estimate is safe: it only clamps more).
    ///
    /// When the estimate leaves no room the request goes as asked: the prompt itself is probably too
    /// long, and vLLM's refusal names the exact sizes (for one retry, or for the client's compaction).
    public static func decide(requested: Int?, window: Int?, estimatedPromptTokens: Int) -> Decision {
        guard let requested, let window, window > 0 else { return .unchanged }
        if requested >= window { return .omitted }
        let (room, overflow) = window.subtractingReportingOverflow(max(0, estimatedPromptTokens))
        if overflow || room <= 0 { return .unchanged }
        if requested <= room { return .unchanged }
        return .clamped(room)
    }
}

/// The prompt size of a request, estimated from the size of its body without a tokenizer.
///
/// Before anything is known, 3 bytes a token (code and JSON tokenize denser than English prose, so
/// this errs high); once the backend reported the prompt size of an earlier body of the same session
/// or deployment, that body's bytes per token (at least one), with a margin of 5 % and 64 tokens.
public struct PromptSizeEstimate: Sendable, Equatable {
    /// Bytes a token when nothing is known.
    public static let defaultBytesPerToken = 3.0

    /// The bytes of an earlier body and the prompt tokens the backend counted for it.
    public struct Sample: Sendable, Equatable {
        public var bodyBytes: Int
        public var promptTokens: Int

        public init(bodyBytes: Int, promptTokens: Int) {
            self.bodyBytes = bodyBytes
            self.promptTokens = promptTokens
        }
    }

    /// The estimated prompt tokens of a body of `bodyBytes` bytes, calibrated by `sample` when there is one.
    public static func tokens(bodyBytes: Int, calibratedBy sample: Sample?) -> Int {
        let bytes = Double(max(0, bodyBytes))
        guard let sample, sample.bodyBytes > 0, sample.promptTokens > 0 else {
            return Int((bytes / defaultBytesPerToken).rounded(.up))
        }
        // At most a token a byte: text never tokenizes denser, and a sample that claims more (a prompt
        // counted with images, a backend that reports nonsense) must not starve every later answer.
        let tokensPerByte = min(1.0, Double(sample.promptTokens) / Double(sample.bodyBytes))
        let estimate = (bytes * tokensPerByte * 1.05).rounded(.up) + 64
        return estimate < Double(Int.max / 2) ? Int(estimate) : Int.max / 2
    }
}
