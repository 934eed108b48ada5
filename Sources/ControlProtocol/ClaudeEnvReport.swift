// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// `claude_env`: what Claude Code needs to use this bridge, from the live daemon: its address, whether
/// it wants a key (and the key, only when asked for), model names that resolve, and the context window
/// of the backend behind them. ``ClaudeCodeEnvironment`` turns it into shell exports.
public struct ClaudeEnvReport: Codable, Sendable, Equatable {
    /// `http://HOST:PORT` of the first listener (a wildcard address becomes loopback).
    public var baseURL: String
    /// Whether the bridge checks a master key.
    public var keyRequired: Bool
    /// The master key itself: only when the request asked `with_key` and a key is set.
    public var key: String?
    /// The model Claude Code uses by default (`ANTHROPIC_MODEL`).
    public var model: String
    /// `ANTHROPIC_DEFAULT_OPUS_MODEL`, `…_SONNET_…`, `…_HAIKU_…`.
    public var opusModel: String
    public var sonnetModel: String
    public var haikuModel: String
    /// The smallest `max_model_len` among the backends serving `model`; nil while none has reported one.
    public var contextWindow: Int?

    /// A report with every field given.
    public init(baseURL: String, keyRequired: Bool, key: String?, model: String, opusModel: String, sonnetModel: String, haikuModel: String, contextWindow: Int?) {
        self.baseURL = baseURL
        self.keyRequired = keyRequired
        self.key = key
        self.model = model
        self.opusModel = opusModel
        self.sonnetModel = sonnetModel
        self.haikuModel = haikuModel
        self.contextWindow = contextWindow
    }

    enum CodingKeys: String, CodingKey {
        case baseURL = "base_url", keyRequired = "key_required", key, model
        case opusModel = "opus_model", sonnetModel = "sonnet_model", haikuModel = "haiku_model"
        case contextWindow = "context_window"
    }

    /// Encodes every key, `null` for an absent key or window.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(baseURL, forKey: .baseURL)
        try container.encode(keyRequired, forKey: .keyRequired)
        try container.encode(key, forKey: .key)
        try container.encode(model, forKey: .model)
        try container.encode(opusModel, forKey: .opusModel)
        try container.encode(sonnetModel, forKey: .sonnetModel)
        try container.encode(haikuModel, forKey: .haikuModel)
        try container.encode(contextWindow, forKey: .contextWindow)
    }
}

/// Claude Code's settings for a backend with a finite context window, and the shell lines that set them.
///
/// How Claude Code 2.1.332 decides to auto-compact (read from its bundled CLI): the window is
/// `min(model window, CLAUDE_CODE_AUTO_COMPACT_WINDOW)`, where an unknown `claude-*` model counts as
/// 200k or more and the variable is read as at least 100k; the effective window takes off
/// `min(max output tokens, 20000)`; it compacts when the last answer's input + cache + output tokens
/// reach `effective − 13000`, or `effective × CLAUDE_AUTOCOMPACT_PCT_OVERRIDE / 100` when that is lower.
/// The window variable alone cannot go below 100k, so the percentage brings the trigger down to the
/// backend's window less the output Claude Code asks for (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`) and a tenth
/// of the window for estimation error.
public enum ClaudeCodeEnvironment {
    /// Claude Code's smallest `CLAUDE_CODE_AUTO_COMPACT_WINDOW` (2.1.332).
    public static let minimumCompactWindow = 100_000
    /// The most output Claude Code reserves below the window.
    public static let outputReserveCap = 20_000
    /// The output asked for per answer on a large window.
    public static let maximumOutputTokens = 32_000

    /// The settings for a backend window of `window` tokens.
    public struct Settings: Sendable, Equatable {
        /// `CLAUDE_CODE_MAX_OUTPUT_TOKENS`: a quarter of the window, at most 32000.
        public var maxOutputTokens: Int
        /// `CLAUDE_CODE_AUTO_COMPACT_WINDOW`: the window, at least Claude Code's minimum.
        public var compactWindow: Int
        /// `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`.
        public var compactPercent: Int
        /// The token count at which Claude Code then compacts.
        public var compactThreshold: Int
    }

    /// The settings for `window` (> 0).
    public static func settings(window: Int) -> Settings {
        let window = max(1024, window)
        let output = min(maximumOutputTokens, window / 4)
        let compactWindow = max(window, minimumCompactWindow)
        let effective = compactWindow - min(output, outputReserveCap)
        let target = window - output - window / 10
        let percent = min(100, max(1, target * 100 / effective))
        let threshold = min(effective * percent / 100, effective - 13_000)
        return Settings(maxOutputTokens: output, compactWindow: compactWindow, compactPercent: percent, compactThreshold: threshold)
    }

    /// The `export` lines for a POSIX shell (`eval "$(sparkctl env)"`).
    public static func exports(_ report: ClaudeEnvReport) -> String {
        var lines: [String] = []
        func export(_ name: String, _ value: String) { lines.append("export \(name)=\(shellQuoted(value))") }
        export("ANTHROPIC_BASE_URL", report.baseURL)
        if let key = report.key {
            export("ANTHROPIC_API_KEY", key)
        } else if report.keyRequired {
            lines.append("# The bridge checks a master key: ANTHROPIC_API_KEY must hold it (sparkctl env --with-key prints it).")
            lines.append(#"export ANTHROPIC_API_KEY="${ANTHROPIC_API_KEY:?the bridge needs its master key in ANTHROPIC_API_KEY (sparkctl env --with-key)}""#)
        } else {
            lines.append("# No key is checked: a placeholder, so Claude Code neither asks to log in nor sends an account's credentials.")
            export("ANTHROPIC_API_KEY", "spark-bridge-local")
        }
        export("ANTHROPIC_MODEL", report.model)
        export("ANTHROPIC_DEFAULT_OPUS_MODEL", report.opusModel)
        export("ANTHROPIC_DEFAULT_SONNET_MODEL", report.sonnetModel)
        export("ANTHROPIC_DEFAULT_HAIKU_MODEL", report.haikuModel)
        if let window = report.contextWindow, window > 0 {
            let settings = settings(window: window)
            lines.append("# The backend's window is \(window) tokens: Claude Code asks for at most \(settings.maxOutputTokens) and compacts at about \(settings.compactThreshold).")
            export("CLAUDE_CODE_MAX_OUTPUT_TOKENS", String(settings.maxOutputTokens))
            export("CLAUDE_CODE_AUTO_COMPACT_WINDOW", String(settings.compactWindow))
            export("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", String(settings.compactPercent))
        } else {
            lines.append("# No backend has reported its context window yet (sparkctl health): no output or auto-compact limits set.")
        }
        export("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `value` in single quotes, safe for any shell word.
    static func shellQuoted(_ value: String) -> String {
        let plain = value.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_./:@%+=,".utf8.contains(byte)
        }
        if !value.isEmpty, plain {
            return value
        }
        return "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
