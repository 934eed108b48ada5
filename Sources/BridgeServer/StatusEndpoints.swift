// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import Foundation

/// The small read-only endpoints: `/health` and `/v1/models`.
enum StatusEndpoints {
    /// Liveness and readiness: the process answers, and it has a configuration with aliases. With
    /// `backends` (the health monitor's reports), each backend carries its state, models and warmth.
    static func health(_ configuration: BridgeConfiguration, backends reports: [BackendHealthReport]? = nil) -> JSONValue {
        let ready = !configuration.aliases.allAliases.isEmpty
        let backends: [JSONValue] = reports.map { $0.map(\.jsonValue) }
            ?? configuration.backends.map { ["name": .string($0.name), "url": .string($0.apiBase.absoluteString)] }
        return [
            "status": ready ? "ok" : "no_aliases",
            "ready": .bool(ready),
            "aliases": .int(configuration.aliases.allAliases.count),
            "backends": .array(backends),
        ]
    }

    /// The aliases clients can ask for (patterns left out): Anthropic's list shape for Anthropic
    /// clients (`anthropic-version` sent), OpenAI's for the others.
    static func models(_ configuration: BridgeConfiguration, anthropicClient: Bool) -> JSONValue {
        let names = configuration.aliases.allAliases.filter { !$0.isPattern }.map(\.name)
        let created = Int(configuration.loadedAt.timeIntervalSince1970)
        if anthropicClient {
            let stamp = ISO8601DateFormatter().string(from: configuration.loadedAt)
            let data: [JSONValue] = names.map { ["type": "model", "id": .string($0), "display_name": .string($0), "created_at": .string(stamp)] }
            return ["data": .array(data), "has_more": false, "first_id": names.first.map { .string($0) } ?? .null, "last_id": names.last.map { .string($0) } ?? .null]
        }
        let data: [JSONValue] = names.map { ["id": .string($0), "object": "model", "created": .int(created), "owned_by": "spark-bridge"] }
        return ["object": "list", "data": .array(data)]
    }
}
