// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import ControlProtocol
import Foundation
import Testing
@testable import BridgeServer

/// Check URLs and verdicts: `/health` beside `/v1`, `/v1/models` read for `max_model_len`.
@Suite("backend probe")
struct BackendProbeTests {
    @Test("/health sits beside /v1, /models under the api_base")
    func urls() {
        #expect(BackendURL.health(URL(string: "http://10.0.0.5:8888/v1")!) == "http://10.0.0.5:8888/health")
        #expect(BackendURL.models(URL(string: "http://10.0.0.5:8888/v1")!) == "http://10.0.0.5:8888/v1/models")
        #expect(BackendURL.health(URL(string: "https://gpu.example/vllm")!) == "https://gpu.example/vllm/health")
    }

    @Test("/metrics sits at the server root, beside /v1")
    func metricsURL() {
        #expect(BackendURL.metrics(URL(string: "http://127.0.0.1:8000/v1")!) == "http://127.0.0.1:8000/metrics")
        #expect(BackendURL.metrics(URL(string: "http://127.0.0.1:8000/v1/")!) == "http://127.0.0.1:8000/metrics")
    }

    @Test("a /metrics page gives the load; a 404 or a page without vLLM's figures is unserved (logged); a failed read is neither")
    func readsLoad() {
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        let page = FetchedResponse(status: 200, body: Array("vllm:num_requests_waiting{model_name=\"m\"} 4\n".utf8), truncated: false)
        let read = BackendProbe.readLoad(.success(page), models: ["m"], at: now)
        #expect(read.load == BackendLoad(waiting: 4, readAt: now) && read.unserved == nil)
        let missing = BackendProbe.readLoad(.success(FetchedResponse(status: 404, body: Array("Not Found".utf8), truncated: false)), models: ["m"], at: now)
        #expect(missing.load == nil && missing.unserved == "GET /metrics: HTTP 404")
        let other = BackendProbe.readLoad(.success(FetchedResponse(status: 200, body: Array("up 1\n".utf8), truncated: false)), models: ["m"], at: now)
        #expect(other.load == nil && other.unserved == "GET /metrics: no vLLM figures for its models")
        let failed = BackendProbe.readLoad(.failure(.connectTimeout), models: ["m"], at: now)
        #expect(failed.load == nil && failed.unserved == nil)
    }

    @Test("the model list gives each id with its max_model_len")
    func parsesModels() {
        let body = Array(#"{"object":"list","data":[{"id":"a","max_model_len":262144},{"id":"b"},{"object":"model"}]}"#.utf8)
        #expect(BackendProbe.parseModels(body) == [BackendModel(id: "a", maxModelLen: 262144), BackendModel(id: "b", maxModelLen: nil)])
        #expect(BackendProbe.parseModels(Array("not json".utf8)) == nil)
    }

    @Test("a max_model_len out of 1...2^31-1 (negative, zero, 2^63-1, fractional) is read as unknown")
    func nonsenseWindows() {
        let body = Array(#"{"data":[{"id":"a","max_model_len":-5},{"id":"b","max_model_len":0},{"id":"c","max_model_len":9223372036854775807},{"id":"d","max_model_len":1.5},{"id":"e","max_model_len":2147483647}]}"#.utf8)
        #expect(BackendProbe.parseModels(body)?.map(\.maxModelLen) == [nil, nil, nil, nil, 2_147_483_647])
    }

    @Test("verdicts: any failure names the request; a cancelled request gives no verdict")
    func verdicts() {
        let ok = FetchedResponse(status: 200, body: Array(#"{"data":[{"id":"m","max_model_len":8}]}"#.utf8), truncated: false)
        let unavailable = FetchedResponse(status: 503, body: [], truncated: false)
        #expect(BackendProbe.evaluate(health: .success(ok), models: .success(ok)) == .success([BackendModel(id: "m", maxModelLen: 8)]))
        #expect(BackendProbe.evaluate(health: .success(unavailable), models: .success(ok)) == .failure(.init("GET /health: HTTP 503")))
        #expect(BackendProbe.evaluate(health: .success(ok), models: .failure(.connectTimeout)) == .failure(.init("GET /v1/models: upstream connect timed out")))
        #expect(BackendProbe.evaluate(health: .success(ok), models: .success(unavailable)) == .failure(.init("GET /v1/models: HTTP 503")))
        #expect(BackendProbe.evaluate(health: .failure(.cancelled), models: .success(ok)) == nil)
    }
}
