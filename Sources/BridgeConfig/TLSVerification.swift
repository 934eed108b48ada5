// SPDX-License-Identifier: Apache-2.0
/// How the certificate of an `https` deployment is checked: LiteLLM's `ssl_verify` (true, false, or
/// the path of a CA bundle) and the bridge's `ca_file` (the same as `ssl_verify: <path>`).
public enum TLSVerification: Sendable, Hashable {
    /// The system's CA store (libcurl's default bundle).
    case systemStore
    /// The CA certificates of this PEM bundle, instead of the system store.
    case caBundle(path: String)
    /// No check of the certificate or the host name (`ssl_verify: false`): for tests of a private
    /// server only; the loader warns.
    case disabled
}
