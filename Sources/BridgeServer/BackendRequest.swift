// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import BridgeUpstream

/// What every request to a backend carries: its key as a bearer token, and the configured limits.
enum BackendRequest {
    /// `fixed` headers, then `Authorization: Bearer <key>` when the backend has a key.
    static func headers(_ fixed: [(String, String)], apiKey: Secret?) -> [(String, String)] {
        guard let key = apiKey?.value, !key.isEmpty else { return fixed }
        return fixed + [("authorization", "Bearer \(key)")]
    }

    /// The transport's certificate check for a deployment's (or backend's) `ssl_verify`/`ca_file`.
    static func certificates(_ tls: TLSVerification) -> UpstreamRequest.CertificateCheck {
        switch tls {
        case .systemStore: .systemStore
        case .caBundle(let path): .caBundle(path: path)
        case .disabled: .none
        }
    }

    /// The user-request limits of the configuration; a deployment's own `timeout` replaces the
    /// first-byte limit.
    static func timeouts(_ timeouts: Timeouts, firstByte: Duration? = nil) -> UpstreamTimeouts {
        UpstreamTimeouts(
            connect: timeouts.connect, firstByte: firstByte ?? timeouts.firstByte, idle: timeouts.idle,
            total: timeouts.total, paused: timeouts.pausedStream
        )
    }
}
