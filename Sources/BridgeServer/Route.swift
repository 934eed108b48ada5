// SPDX-License-Identifier: Apache-2.0
/// The paths the bridge serves, a closed set: what a request is routed on, and the `path` label of its
/// metrics (a client's raw path never becomes a label, so no client can grow the series).
enum Route: String, CaseIterable, Sendable {
    case root = "/"
    case health = "/health"
    case metrics = "/metrics"
    case models = "/v1/models"
    case messages = "/v1/messages"
    case countTokens = "/v1/messages/count_tokens"
    case chatCompletions = "/v1/chat/completions"
    /// Every other path (answered 404).
    case other

    /// The route of a request target (the query string is ignored).
    init(target: String) {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        self = Route(rawValue: String(path)).flatMap { $0 == .other ? nil : $0 } ?? .other
    }

    /// Routes that need the master key (when one is set).
    var needsKey: Bool {
        switch self {
        case .models, .messages, .countTokens, .chatCompletions: true
        case .root, .health, .metrics, .other: false
        }
    }

    /// POST routes that read the request body; every other request's body is read and dropped.
    var readsBody: Bool {
        switch self {
        case .messages, .countTokens, .chatCompletions: true
        case .root, .health, .metrics, .models, .other: false
        }
    }

    /// Routes still answered on a connection accepted over `limits.max_connections`: a monitor can
    /// tell a full bridge from a dead one.
    var servedWhenFull: Bool {
        switch self {
        case .root, .health, .metrics: true
        case .models, .messages, .countTokens, .chatCompletions, .other: false
        }
    }
}

/// The `status` label of a finished request: the code itself when it is one the bridge answers with,
/// else its class (`2xx`…`5xx`, `other`), so a backend relaying odd codes cannot grow the series either.
enum StatusLabel {
    static let known: Set<Int> = [200, 400, 401, 403, 404, 405, 408, 413, 422, 429, 499, 500, 502, 503, 504, 529]

    static func of(_ status: Int) -> String {
        if known.contains(status) { return String(status) }
        switch status {
        case 100...199: return "1xx"
        case 200...299: return "2xx"
        case 300...399: return "3xx"
        case 400...499: return "4xx"
        case 500...599: return "5xx"
        default: return "other"
        }
    }
}
