// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeJSON
import BridgeUpstream
import Foundation
import NIOCore

/// `POST /v1/chat/completions` for OpenAI clients: the model name goes through the same aliases, and
/// the backend's answer is relayed byte for byte (streams chunk by chunk, with backpressure).
final class PassthroughExchange: UpstreamConsumer, ActiveExchange {
    private let bridge: BridgeContext
    private let configuration: BridgeConfiguration
    private let writer: ResponseWriter
    private let record: RequestRecord
    private let channel: any Channel
    private var call: UpstreamCall?
    private var finished = false

    init(bridge: BridgeContext, configuration: BridgeConfiguration, writer: ResponseWriter, record: RequestRecord, channel: any Channel) {
        self.bridge = bridge
        self.configuration = configuration
        self.writer = writer
        self.record = record
        self.channel = channel
    }

    func start(body: [UInt8]) {
        guard case .object(var object)? = try? JSONParser.parse(body) else {
            fail(status: 400, message: "The request body is not a JSON object", type: "invalid_request_error")
            return
        }
        guard let model = object["model"]?.stringValue else {
            fail(status: 400, message: "model: Field required", type: "invalid_request_error")
            return
        }
        record.clientModel = model
        let picked: Result<Deployment, BackendsUnavailable>
        if let resolved = configuration.aliases.resolve(model) {
            record.alias = resolved.alias
            picked = bridge.pickDeployment(alias: resolved.alias, from: resolved.deployments)
        } else if case let direct = configuration.aliases.deployments(servingBackendModel: model), !direct.isEmpty {
            picked = bridge.pickDeployment(alias: model, from: direct)
        } else {
            fail(status: 404, message: configuration.aliases.unknownModelMessage(model), type: "invalid_request_error", code: "model_not_found")
            return
        }
        let deployment: Deployment
        switch picked {
        case .success(let chosen): deployment = chosen
        case .failure(let unavailable):
            record.note = unavailable.message
            fail(status: 503, message: unavailable.message, type: "server_error")
            return
        }
        record.backendModel = deployment.model
        record.backend = deployment.backendName
        object["model"] = .string(deployment.model)
        let request = UpstreamRequest(
            method: "POST", url: BackendURL.chatCompletions(deployment.apiBase),
            headers: BackendRequest.headers([("content-type", "application/json")], apiKey: deployment.apiKey),
            body: JSONValue.object(object).jsonBytes,
            timeouts: BackendRequest.timeouts(configuration.settings.timeouts, firstByte: deployment.timeout)
        )
        record.routed(body: request.body)
        call = bridge.startUpstream(request, to: deployment, channel: channel, consumer: self)
    }

    func upstreamHead(status: Int, headers: [(String, String)]) {
        let relayed = headers.filter { ["content-type", "cache-control"].contains($0.0.lowercased()) }
        record.upstreamResponded(status: status)
        writer.head(status: status, headers: relayed)
        writer.flush()
        if status != 200 {
            record.note = "backend HTTP \(status)"
            record.upstreamError = UpstreamError.metricKind(httpStatus: status)
        } else if relayed.contains(where: { $0.1.hasPrefix("text/event-stream") }) {
            bridge.tracker.streamStarted(record.requestID)
            record.streamStarted()
        }
    }

    func upstreamBody(_ bytes: [UInt8]) {
        record.markFirstToken()
        record.answered(bytes)
        writer.body(bytes)
        writer.flush()
    }

    func upstreamCompleted(_ result: Result<Void, UpstreamError>) {
        guard !finished else { return }
        finished = true
        switch result {
        case .success:
            writer.end()
        case .failure(.cancelled):
            writer.abandon()
        case .failure(let error):
            record.note = "upstream: \(error)"
            record.upstreamError = error.metricKind
            if writer.hasStarted {
                // Mid-body there is no way to signal an error in OpenAI's stream: close the connection.
                writer.abandon()
                channel.close(promise: nil)
            } else {
                writer.respondJSON(status: 503, OpenAIErrorBody(message: "The backend is unavailable: \(error)", type: "server_error").json)
            }
        }
    }

    func clientClosed() {
        call?.cancel()
        guard !finished else { return }
        finished = true
        record.note = "client disconnected"
        writer.abandon()
    }

    func writabilityChanged() {
        call?.writabilityChanged()
    }

    func cut(reason: String) {
        call?.cancel()
        guard !finished else { return }
        finished = true
        record.note = "cut: \(reason)"
        if writer.hasStarted {
            writer.abandon()
            channel.close(promise: nil)
        } else {
            writer.respondJSON(status: 503, OpenAIErrorBody(message: "The request was cut short: \(reason)", type: "server_error").json, extraHeaders: [("x-should-retry", "true")])
        }
    }

    private func fail(status: Int, message: String, type: String, code: String? = nil) {
        finished = true
        record.failed("\(type): \(message)")
        writer.respondJSON(status: status, OpenAIErrorBody(message: message, type: type, code: code).json)
    }
}
