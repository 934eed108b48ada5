// SPDX-License-Identifier: Apache-2.0
/// Deterministic, reversible renaming of tool names that an OpenAI-compatible server would reject.
///
/// A valid name (`^[a-zA-Z0-9_-]{1,64}$`) is kept. Any other name gets its invalid characters replaced
/// with `_`, is cut to fit, and ends in `_` plus 8 hex digits of a hash of the original, so the same
/// name always maps to the same short name (in every request, which keeps vLLM's prefix cache warm) and
/// two different names cannot meet. Responses are mapped back with `clientName(for:)`.
public struct ToolNameMap: Sendable, Equatable {
    public static let maximumLength = 64
    private var backendToClient: [String: String] = [:]

    public init() {}

    /// The name to send to the backend, remembering how to map it back.
    public mutating func backendName(for clientName: String) -> String {
        let name = Self.backendName(for: clientName)
        if name != clientName { backendToClient[name] = clientName }
        return name
    }

    /// The client's original name for a name the backend used.
    public func clientName(for backendName: String) -> String {
        backendToClient[backendName] ?? backendName
    }

    /// The backend name for `clientName`, without remembering it.
    public static func backendName(for clientName: String) -> String {
        if isValid(clientName) { return clientName }
        let sanitized = String(String.UnicodeScalarView(clientName.unicodeScalars.map { isAllowed($0) ? $0 : "_" }))
        let suffix = "_" + hex8(fnv1a(clientName))
        return String(sanitized.prefix(maximumLength - suffix.count)) + suffix
    }

    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.count <= maximumLength && name.unicodeScalars.allSatisfy(isAllowed)
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: false
        }
    }

    private static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    private static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
