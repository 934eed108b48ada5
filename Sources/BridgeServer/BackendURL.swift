// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// A backend's endpoint URLs from its `api_base` (which ends in `/v1` for vLLM).
enum BackendURL {
    /// `http://h:8888/v1` → `http://h:8888/v1/chat/completions`.
    static func chatCompletions(_ apiBase: URL) -> String {
        base(apiBase) + "/chat/completions"
    }

    /// `http://h:8888/v1` → `http://h:8888/v1/models`.
    static func models(_ apiBase: URL) -> String {
        base(apiBase) + "/models"
    }

    /// vLLM serves `/tokenize` beside `/v1`, not under it: `http://h:8888/v1` → `http://h:8888/tokenize`.
    static func tokenize(_ apiBase: URL) -> String {
        root(apiBase) + "/tokenize"
    }

    /// `http://h:8888/v1` → `http://h:8888/health`; a base without `/v1` keeps its path.
    static func health(_ apiBase: URL) -> String {
        root(apiBase) + "/health"
    }

    /// vLLM serves its Prometheus page at the server root: `http://h:8888/v1` → `http://h:8888/metrics`.
    static func metrics(_ apiBase: URL) -> String {
        root(apiBase) + "/metrics"
    }

    /// The base without trailing slashes.
    private static func base(_ url: URL) -> String {
        var text = url.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The server root: the base without its `/v1`.
    private static func root(_ url: URL) -> String {
        var text = base(url)
        if text.hasSuffix("/v1") { text.removeLast(3) }
        return text
    }
}
