// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import ControlProtocol
import FoundationEssentials

/// The health check of one backend: `GET <base without /v1>/health` (vLLM's liveness) and
/// `GET <api_base>/models` (what it serves, with `max_model_len`), and how their answers are judged.
enum BackendProbe {
    /// The two check requests; every phase limited by `health.timeout`.
    static func requests(for backend: Backend, settings: HealthSettings) -> (health: UpstreamRequest, models: UpstreamRequest) {
        let timeouts = UpstreamTimeouts(connect: settings.timeout, firstByte: settings.timeout, idle: settings.timeout)
        let headers = BackendRequest.headers([("accept", "application/json")], apiKey: backend.apiKey)
        return (
            UpstreamRequest(method: "GET", url: BackendURL.health(backend.apiBase), headers: headers, timeouts: timeouts, certificates: BackendRequest.certificates(backend.tls)),
            UpstreamRequest(method: "GET", url: BackendURL.models(backend.apiBase), headers: headers, timeouts: timeouts, certificates: BackendRequest.certificates(backend.tls))
        )
    }

    /// `GET /metrics` (vLLM's Prometheus page), limited like the check requests.
    static func metricsRequest(for backend: Backend, settings: HealthSettings) -> UpstreamRequest {
        let timeouts = UpstreamTimeouts(connect: settings.timeout, firstByte: settings.timeout, idle: settings.timeout)
        let headers = BackendRequest.headers([("accept", "text/plain")], apiKey: backend.apiKey)
        return UpstreamRequest(
            method: "GET", url: BackendURL.metrics(backend.apiBase), headers: headers, timeouts: timeouts, certificates: BackendRequest.certificates(backend.tls)
        )
    }

    /// What one read of `/metrics` gave: the load of the models called `models`, or why there is none
    /// (`unserved`: the backend has no vLLM page there, logged once; nil with no load: the request
    /// failed or was cancelled, which the check itself reports).
    static func readLoad(_ page: Result<FetchedResponse, UpstreamError>, models: Set<String>, at time: Date) -> (load: BackendLoad?, unserved: String?) {
        switch page {
        case .failure:
            return (nil, nil)
        case .success(let response) where response.status != 200:
            return (nil, "GET /metrics: HTTP \(response.status)")
        case .success(let response):
            guard let load = BackendLoad(prometheusPage: response.body, models: models, readAt: time) else {
                return (nil, "GET /metrics: no vLLM figures for its models")
            }
            return (load, nil)
        }
    }

    /// The verdict on one check: the served models, or why the backend failed it. Nil when either
    /// request was cancelled (the monitor stopping, the transport shutting down): no verdict at all.
    static func evaluate(
        health: Result<FetchedResponse, UpstreamError>, models: Result<FetchedResponse, UpstreamError>
    ) -> Result<[BackendModel], CheckFailure>? {
        if case .failure(.cancelled) = health { return nil }
        if case .failure(.cancelled) = models { return nil }
        switch health {
        case .failure(let error):
            return .failure(CheckFailure("GET /health: \(error)"))
        case .success(let response) where response.status != 200:
            return .failure(CheckFailure("GET /health: HTTP \(response.status)"))
        case .success:
            break
        }
        switch models {
        case .failure(let error):
            return .failure(CheckFailure("GET /v1/models: \(error)"))
        case .success(let response) where response.status != 200:
            return .failure(CheckFailure("GET /v1/models: HTTP \(response.status)"))
        case .success(let response):
            guard let list = parseModels(response.body) else {
                return .failure(CheckFailure("GET /v1/models: not a model list"))
            }
            return .success(list)
        }
    }

    /// The `data` of an OpenAI model list: each `id` with vLLM's `max_model_len`. Nil when the body is
    /// not such a list. A `max_model_len` outside 1...2³¹−1 is the backend's nonsense, read as unknown,
    /// so whatever computes with it (`max_tokens` next to a prompt) never meets a negative or huge window.
    static func parseModels(_ body: [UInt8]) -> [BackendModel]? {
        guard let json = try? JSONParser.parse(body), let data = json["data"]?.arrayValue else { return nil }
        return data.compactMap { card in
            let window = card["max_model_len"]?.intValue.flatMap { (1...Int(Int32.max)).contains($0) ? $0 : nil }
            return card["id"]?.stringValue.map { BackendModel(id: $0, maxModelLen: window) }
        }
    }

    /// Why a check failed, as `lastError` shows it.
    struct CheckFailure: Error, Sendable, Equatable {
        let message: String
        init(_ message: String) { self.message = message }
    }

}
