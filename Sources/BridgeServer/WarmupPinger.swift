// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import ControlProtocol
import FoundationEssentials

/// Keep-alive warmup: a minimal completion to each model a backend serves, so the slow first request
/// after vLLM starts (CUDA graph capture, cold caches) is paid by the bridge and not by a user.
///
/// Warmups go straight to the transport: they are not routed, not counted in flight, not logged as
/// requests and not in user counters.
enum WarmupPinger {
    /// How one warmup round went.
    struct Outcome: Sendable, Equatable {
        /// Models that answered 200.
        var warmed: [String] = []
        /// Models that did not, with why.
        var failures: [(model: String, error: String)] = []
        /// The whole round, models one after the other, in milliseconds.
        var latencyMs: Double = 0

        var succeeded: Bool { failures.isEmpty && !warmed.isEmpty }

        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            lhs.warmed == rhs.warmed && lhs.latencyMs == rhs.latencyMs
                && lhs.failures.elementsEqual(rhs.failures) { $0.model == $1.model && $0.error == $1.error }
        }
    }

    /// `{"model", "messages":[{"role":"user","content":"ping"}], "max_tokens"}`.
    static func request(model: String, backend: Backend, settings: BridgeSettings) -> UpstreamRequest {
        let headers = BackendRequest.headers([("content-type", "application/json"), ("accept", "application/json")], apiKey: backend.apiKey)
        let body: JSONValue = [
            "model": .string(model),
            "messages": [["role": "user", "content": "ping"]],
            "max_tokens": .int(max(1, settings.warmup.maxTokens)),
        ]
        return UpstreamRequest(
            method: "POST", url: BackendURL.chatCompletions(backend.apiBase), headers: headers, body: body.jsonBytes,
            // The first request after a start may take minutes (graph capture): the user-request limits apply.
            timeouts: BackendRequest.timeouts(settings.timeouts), certificates: BackendRequest.certificates(backend.tls)
        )
    }

    /// The models to warm: those configured for the backend, less any it says it does not serve (when
    /// its model list is known).
    static func models(for backend: Backend, served: [BackendModel]) -> [String] {
        guard !served.isEmpty else { return backend.models }
        let ids = Set(served.map(\.id))
        return backend.models.filter { ids.contains($0) }
    }

    /// Warms `models` one after the other. Nil when cancelled (the monitor stopped).
    static func warm(_ models: [String], on backend: Backend, settings: BridgeSettings, transport: UpstreamTransport) async -> Outcome? {
        var outcome = Outcome()
        let clock = ContinuousClock()
        let started = clock.now
        for model in models {
            switch await UpstreamFetch.fetch(request(model: model, backend: backend, settings: settings), on: transport, maximumBytes: 64 * 1024) {
            case .failure(.cancelled):
                return nil
            case .failure(let error):
                outcome.failures.append((model, "\(error)"))
            case .success(let response) where response.status != 200:
                outcome.failures.append((model, "HTTP \(response.status)"))
            case .success:
                outcome.warmed.append(model)
            }
            if Task.isCancelled { return nil }
        }
        outcome.latencyMs = (clock.now - started).inMilliseconds
        return outcome
    }
}
