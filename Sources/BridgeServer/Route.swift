// SPDX-License-Identifier: Apache-2.0
import NIOHTTP1

/// The paths the bridge serves, a closed set: what a request is routed on, and the `path` label of its
/// metrics (a client's raw path never becomes a label, so no client can grow the series). What each
/// route answers and how is its row of ``Route/table``: the only place it is written.
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

    /// The route table: for each path, the methods it answers and the rules its requests meet at the
    /// head. Admission (404, 405 with `Allow`, key, drain, connection limit, error shape), the body
    /// reader, the dispatcher and the metrics label all read it.
    static let table: [Row] = [
        Row(.root, methods: [.GET, .HEAD], needsKey: false, readsBody: false, refusedWhileDraining: false, servedWhenFull: true, errorShape: .anthropic),
        Row(.health, methods: [.GET, .HEAD], needsKey: false, readsBody: false, refusedWhileDraining: false, servedWhenFull: true, errorShape: .anthropic),
        Row(.metrics, methods: [.GET], needsKey: false, readsBody: false, refusedWhileDraining: false, servedWhenFull: true, errorShape: .anthropic),
        Row(.models, methods: [.GET], needsKey: true, readsBody: false, refusedWhileDraining: false, servedWhenFull: false, errorShape: .byAnthropicVersion),
        Row(.messages, methods: [.POST], needsKey: true, readsBody: true, refusedWhileDraining: true, servedWhenFull: false, errorShape: .anthropic),
        Row(.countTokens, methods: [.POST], needsKey: true, readsBody: true, refusedWhileDraining: true, servedWhenFull: false, errorShape: .anthropic),
        Row(.chatCompletions, methods: [.POST], needsKey: true, readsBody: true, refusedWhileDraining: true, servedWhenFull: false, errorShape: .openAI),
    ]

    /// One row of ``Route/table``.
    struct Row: Sendable {
        let route: Route
        /// The methods answered; any other is 405 with `Allow` listing these.
        let methods: [HTTPMethod]
        /// Needs the master key (when one is set).
        let needsKey: Bool
        /// A POST whose body is read and handed to the endpoint; every other request's body is read and dropped.
        let readsBody: Bool
        /// Answered 529 `overloaded_error` while the bridge drains (the ones that start work on a backend).
        let refusedWhileDraining: Bool
        /// Still answered on a connection accepted over `limits.max_connections`: a monitor can tell a
        /// full bridge from a dead one.
        let servedWhenFull: Bool
        /// The shape of the errors the connection answers before the endpoint takes over (401, 405,
        /// 408, 413, 417, drain and full); the endpoint's own errors already have it.
        let errorShape: ErrorShape

        init(
            _ route: Route, methods: [HTTPMethod], needsKey: Bool, readsBody: Bool, refusedWhileDraining: Bool,
            servedWhenFull: Bool, errorShape: ErrorShape
        ) {
            self.route = route
            self.methods = methods
            self.needsKey = needsKey
            self.readsBody = readsBody
            self.refusedWhileDraining = refusedWhileDraining
            self.servedWhenFull = servedWhenFull
            self.errorShape = errorShape
        }

        /// The `Allow` header of a 405: the methods, comma-separated.
        var allow: String { methods.map(\.rawValue).joined(separator: ", ") }
    }

    /// The error bodies a route's clients read.
    enum ErrorShape: Sendable, Equatable {
        /// `{"type":"error","error":{"type","message"}}`.
        case anthropic
        /// `{"error":{"message","type","param","code"}}` (``OpenAIErrorBody``).
        case openAI
        /// Anthropic's when the request sends `anthropic-version`, OpenAI's otherwise (`/v1/models`
        /// serves both kinds of client).
        case byAnthropicVersion
    }

    /// Rows by route, built once from ``table``.
    private static let rows: [Route: Row] = Dictionary(table.map { ($0.route, $0) }, uniquingKeysWith: { first, _ in first })

    /// The route of a request target (the query string is ignored): the row of ``table`` whose path it
    /// is. Compared in place with each row's path (no split, no copy, no `init(rawValue:)` search).
    init(target: String) {
        let path = Self.path(of: target)
        self = Self.table.first { $0.route.rawValue == path }?.route ?? .other
    }

    /// A request target without its query string (`/v1/messages?beta=true` → `/v1/messages`), in place.
    static func path(of target: String) -> Substring {
        target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
    }

    /// This route's row of ``table``; nil for ``other``.
    var row: Row? { Self.rows[self] }

    /// Routes that need the master key (when one is set).
    var needsKey: Bool { row?.needsKey ?? false }

    /// POST routes that read the request body; every other request's body is read and dropped.
    var readsBody: Bool { row?.readsBody ?? false }

    /// The `path` label of the request's metrics: the route's path, `other` for any other.
    var metricsLabel: String { rawValue }
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
