// SPDX-License-Identifier: Apache-2.0
import NIOHTTP1

/// Checks a client's key against the configured master key.
enum Authenticator {
    /// True when no key is required, or `x-api-key` / `Authorization: Bearer` carries it.
    static func isAuthorized(_ headers: HTTPHeaders, masterKey: String?) -> Bool {
        guard let masterKey, !masterKey.isEmpty else { return true }
        var offered: [String] = headers["x-api-key"]
        for value in headers["authorization"] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { offered.append(String(parts[1]).trimmingSpaces) }
        }
        var accepted = false
        for key in offered where constantTimeEquals(key, masterKey) { accepted = true }
        return accepted
    }

    /// Compares in time that depends only on the lengths, not on where the strings differ.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
