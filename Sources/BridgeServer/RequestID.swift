// SPDX-License-Identifier: Apache-2.0
/// Request ids as Anthropic writes them: `req_` and 24 base-62 characters.
enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new id: 3 × 64 random bits, 8 base-62 digits from each (62⁸ < 2⁶⁴, so every digit is
    /// practically uniform). Three draws, not one per character: each can be a system call.
    /// Written straight into the string's own storage (one allocation).
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(unsafeUninitializedCapacity: 28) { buffer in
            var index = 0
            for byte in "req_".utf8 {
                buffer[index] = byte
                index += 1
            }
            for _ in 0..<3 {
                var value = generator.next()
                for _ in 0..<8 {
                    buffer[index] = alphabet[Int(value % 62)]
                    index += 1
                    value /= 62
                }
            }
            return index
        }
    }
}
