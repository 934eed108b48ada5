// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream

extension UpstreamError {
    /// The `kind` label of `spark_bridge_upstream_errors_total`.
    var metricKind: String? {
        switch self {
        case .connectFailed: "connect"
        case .connectTimeout: "connect_timeout"
        case .firstByteTimeout: "first_byte_timeout"
        case .idleTimeout: "idle_timeout"
        case .totalTimeout: "total_timeout"
        // The client stopped reading: nothing the backend did.
        case .consumerStalled: nil
        case .transport: "transport"
        case .cancelled: nil
        }
    }

    /// The kind for an error status from the backend.
    static func metricKind(httpStatus: Int) -> String {
        switch httpStatus {
        case 429: "http_429"
        case 500...: "http_5xx"
        default: "http_4xx"
        }
    }
}
