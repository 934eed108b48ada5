// SPDX-License-Identifier: Apache-2.0
/// A key or token from the configuration (an `api_key`, the `master_key`).
///
/// It prints as `<redacted>` in interpolation, `print`, `dump` and debug output, so that logging a
/// `Deployment` or a `BridgeConfiguration` never leaks it; read `value` where the key is really needed.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key itself.
    public let value: String

    /// Wraps a key.
    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
