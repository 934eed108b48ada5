// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation
import Testing

@Suite("Control reports and responses on the wire")
struct ControlReportTests {
    static let loadedAt = Date(timeIntervalSince1970: 1_764_000_000)

    @Test("a status response round-trips, with snake_case keys and an ISO 8601 date")
    func status() throws {
        let report = StatusReport(
            version: "0.1.0", uptimeSeconds: 12.5, configPath: "/etc/spark-bridge/config.yaml", configLoadedAt: Self.loadedAt,
            listeners: ["127.0.0.1:4000"], requestsInFlight: 2, streamsInFlight: 1, requestsTotal: 99, draining: false,
            drainedBackends: ["h:8888"]
        )
        let result = try roundTrip(report)
        #expect(Set(result.keys) == [
            "version", "uptime_seconds", "config_path", "config_loaded_at", "listeners", "requests_in_flight",
            "streams_in_flight", "requests_total", "draining", "drained_backends",
        ])
        #expect(result["config_loaded_at"] as? String == "2025-11-24T16:00:00Z")
        #expect(result["config_path"] as? String == "/etc/spark-bridge/config.yaml")
    }

    @Test("health sends every key, null for what is not known yet")
    func healthNulls() throws {
        let report = HealthReport(backends: [
            BackendHealth(name: "h:8888", url: "http://h:8888/v1", state: .unknown),
            BackendHealth(
                name: "g:8000", url: "http://g:8000/v1", state: .up, lastCheck: Self.loadedAt, latencyMs: 3.5,
                models: [BackendModel(id: "Qwen/Qwen3", maxModelLen: 32768), BackendModel(id: "other")], warm: true,
                lastWarmupLatencyMs: 812
            ),
        ])
        let result = try roundTrip(report)
        let backends = try #require(result["backends"] as? [[String: Any]])
        let fresh = backends[0]
        #expect(Set(fresh.keys) == [
            "name", "url", "state", "last_check", "latency_ms", "last_error", "models", "warm", "last_warmup_latency_ms", "drained", "in_flight",
            "load",
        ])
        #expect(fresh["load"] is NSNull)
        #expect(fresh["last_check"] is NSNull)
        #expect(fresh["latency_ms"] is NSNull)
        #expect(fresh["state"] as? String == "unknown")
        let models = try #require(backends[1]["models"] as? [[String: Any]])
        #expect(models[1]["max_model_len"] is NSNull)
        #expect(models[0]["max_model_len"] as? Int == 32768)
    }

    @Test("a backend's load round-trips with every key, the hit rate derived from the counters")
    func healthLoad() throws {
        let load = BackendLoad(running: 3, waiting: 2, kvCacheUsage: 0.25, prefixCacheQueries: 400, prefixCacheHits: 300, readAt: Self.loadedAt)
        let report = HealthReport(backends: [BackendHealth(name: "g:8000", url: "http://g:8000/v1", state: .up, load: load)])
        let backends = try #require(try roundTrip(report)["backends"] as? [[String: Any]])
        let object = try #require(backends[0]["load"] as? [String: Any])
        #expect(Set(object.keys) == ["running", "waiting", "kv_cache_usage", "prefix_cache_queries", "prefix_cache_hits", "prefix_cache_hit_rate", "read_at"])
        #expect(object["waiting"] as? Int == 2)
        #expect(object["prefix_cache_hit_rate"] as? Double == 0.75)
        #expect(load.queued == 5)
        let unknown = BackendLoad(running: 1, readAt: Self.loadedAt)
        #expect(unknown.queued == nil && unknown.prefixCacheHitRate == nil)
        let unknownObject = try #require((try roundTrip(HealthReport(backends: [BackendHealth(name: "g", url: "http://g/v1", state: .up, load: unknown)]))["backends"] as? [[String: Any]])?[0]["load"] as? [String: Any])
        #expect(unknownObject["waiting"] is NSNull && unknownObject["prefix_cache_hit_rate"] is NSNull)
    }

    @Test("a health report's status and ready follow from its alias count, and are sent beside it")
    func healthReadiness() throws {
        let empty = try roundTrip(HealthReport(aliases: 0, backends: []))
        #expect(Set(empty.keys) == ["status", "ready", "aliases", "backends"])
        #expect(empty["status"] as? String == "no_aliases" && empty["ready"] as? Bool == false && empty["aliases"] as? Int == 0)
        let ready = try roundTrip(HealthReport(aliases: 3, backends: [BackendHealth(name: "h", url: "http://h/v1", state: .up)]))
        #expect(ready["status"] as? String == "ok" && ready["ready"] as? Bool == true && ready["aliases"] as? Int == 3)
        #expect(HealthReport(aliases: 1, backends: []).status == .ok && HealthReport(aliases: 0, backends: []).status == .noAliases)
    }

    @Test("a backend's router view (drained, in_flight) and its durations in milliseconds survive the wire")
    func healthRouterViewAndUnits() throws {
        let backend = BackendHealth(
            name: "h:8888", url: "http://h:8888/v1", state: .down, lastCheck: Self.loadedAt, latencyMs: 0.25, lastError: "HTTP 503",
            lastWarmupLatencyMs: 1840.5, drained: true, inFlight: 4
        )
        let result = try roundTrip(HealthReport(aliases: 1, backends: [backend]))
        let sent = try #require((result["backends"] as? [[String: Any]])?.first)
        #expect(sent["drained"] as? Bool == true && sent["in_flight"] as? Int == 4)
        #expect(sent["latency_ms"] as? Double == 0.25 && sent["last_warmup_latency_ms"] as? Double == 1840.5)
        #expect(sent["last_check"] as? String == "2025-11-24T16:00:00Z")
        #expect(sent["state"] as? String == "down")
    }

    @Test("a health report from a daemon that leaves optional keys out still reads")
    func healthWithoutOptionalKeys() throws {
        let line = #"{"version":1,"ok":true,"result":{"backends":[{"name":"h","url":"http://h/v1","state":"down","models":[{"id":"m"}],"warm":false}]}}"#
        let response = try ControlResponse<HealthReport>.decode(Array(line.utf8))
        #expect(response.result == HealthReport(backends: [BackendHealth(name: "h", url: "http://h/v1", state: .down, models: [BackendModel(id: "m")])]))
        let bare = #"{"version":1,"ok":true,"result":{"backends":[{"name":"h","url":"http://h/v1","state":"up"}]}}"#
        let minimal = try ControlResponse<HealthReport>.decode(Array(bare.utf8)).result?.backends.first
        #expect(minimal == BackendHealth(name: "h", url: "http://h/v1", state: .up))
    }

    @Test("aliases round-trip; no default model is null")
    func aliases() throws {
        let report = AliasesReport(
            aliases: [AliasInfo(name: "claude-*", isPattern: true, deployments: [AliasDeployment(model: "Qwen/Qwen3", backend: "h:8888", url: "http://h:8888/v1")])],
            defaultModel: nil
        )
        let result = try roundTrip(report)
        #expect(result["default_model"] is NSNull)
        let alias = try #require((result["aliases"] as? [[String: Any]])?.first)
        #expect(alias["is_pattern"] as? Bool == true)
        #expect(alias["routing"] == nil, "a single deployment has no routing")
        let pooled = AliasInfo(name: "p", isPattern: false, deployments: [], routing: "session-affinity")
        #expect(try JSONDecoder().decode(AliasInfo.self, from: JSONEncoder().encode(pooled)) == pooled)
    }

    @Test("a reload report says changed when any list is non-empty, and reads without warnings")
    func reload() throws {
        #expect(ReloadReport(added: [], removed: [], changedAliases: [], settingsChanged: []).changed == false)
        #expect(ReloadReport(added: [], removed: [], changedAliases: [], settingsChanged: ["master_key"]).changed)
        let report = ReloadReport(added: ["a"], removed: ["b"], changedAliases: ["c"], settingsChanged: ["listen"], warnings: ["f:1:2: w"])
        let result = try roundTrip(report)
        #expect(result["changed_aliases"] as? [String] == ["c"])
        #expect(result["settings_changed"] as? [String] == ["listen"])
        let old = #"{"version":1,"ok":true,"result":{"changed":false,"added":[],"removed":[],"changed_aliases":[],"settings_changed":[]}}"#
        #expect(try ControlResponse<ReloadReport>.decode(Array(old.utf8)).result?.warnings == [])
    }

    @Test("drain and resume reports round-trip")
    func drainAndResume() throws {
        let drain = try roundTrip(DrainReport(finished: 3, cut: 1))
        #expect(drain["finished"] as? Int == 3 && drain["cut"] as? Int == 1 && drain["draining"] as? Bool == true)
        let resume = try roundTrip(ResumeReport())
        #expect(resume["draining"] as? Bool == false)
    }

    @Test("a failure has ok false, an error and no result, and reads as any payload type")
    func failure() throws {
        let failure = ControlFailure(message: "config.yaml:3:5: bad", diagnostics: [ControlDiagnostic(file: "config.yaml", line: 3, column: 5, message: "bad")])
        let line = try ControlResponse<ReloadReport>.failure(failure).encodedLine()
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
        #expect(object["version"] as? Int == 1)
        #expect(object["result"] == nil)
        #expect((object["error"] as? [String: Any])?["message"] as? String == "config.yaml:3:5: bad")
        #expect(try ControlResponse<StatusReport>.decode(line).error == failure)
        #expect(failure.diagnostics?.first?.description == "config.yaml:3:5: bad")
        #expect(ControlDiagnostic(file: "c.yaml", line: 0, column: 0, message: "unreadable").description == "c.yaml: unreadable")
    }

    /// Encodes `report` in a success response line, checks it decodes back equal, and returns the
    /// `result` object as JSON sees it.
    private func roundTrip<Report: Codable & Sendable & Equatable>(_ report: Report) throws -> [String: Any] {
        let line = try ControlResponse.success(report).encodedLine()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains(UInt8(ascii: "\n")))
        let decoded = try ControlResponse<Report>.decode(line)
        #expect(decoded.ok && decoded.version == ControlWire.version && decoded.error == nil)
        #expect(decoded.result == report)
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["ok"] as? Bool == true)
        return try #require(object["result"] as? [String: Any])
    }
}
