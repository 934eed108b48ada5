// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import ControlProtocol
import FoundationEssentials

/// The small read-only endpoints: `/health` and `/v1/models`.
enum StatusEndpoints {
    /// Liveness and readiness, and each backend's state, models and warmth: the ``HealthReport``
    /// encoded as the control socket encodes it, so `/health` and `sparkctl health --json` are one
    /// document. Nil when it cannot be encoded (a non-finite number), which the monitor never produces.
    static func health(_ report: HealthReport) -> [UInt8]? {
        (try? ControlWire.makeEncoder().encode(report)).map { Array($0) }
    }

    /// The aliases clients can ask for (patterns left out): Anthropic's list shape for Anthropic
    /// clients (`anthropic-version` sent), OpenAI's for the others.
    static func models(_ configuration: BridgeConfiguration, anthropicClient: Bool) -> JSONValue {
        let names = configuration.aliases.allAliases.filter { !$0.isPattern }.map(\.name)
        let created = Int(configuration.loadedAt.timeIntervalSince1970)
        if anthropicClient {
            let stamp = configuration.loadedAt.formatted(.iso8601)
            let data: [JSONValue] = names.map { ["type": "model", "id": .string($0), "display_name": .string($0), "created_at": .string(stamp)] }
            return ["data": .array(data), "has_more": false, "first_id": names.first.map { .string($0) } ?? .null, "last_id": names.last.map { .string($0) } ?? .null]
        }
        let data: [JSONValue] = names.map { ["id": .string($0), "object": "model", "created": .int(created), "owned_by": "spark-bridge"] }
        return ["object": "list", "data": .array(data)]
    }
}
