// SPDX-License-Identifier: Apache-2.0
/// Request ids as Anthropic writes them: `req_` and 24 base-62 characters.
enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new id: 3 × 64 random bits, 8 base-62 digits from each (62⁸ < 2⁶⁴, so every digit is
    /// practically uniform). Three draws, not one per character: each can be a system call.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var characters: [UInt8] = Array("req_".utf8)
        characters.reserveCapacity(28)
        for _ in 0..<3 {
            var value = generator.next()
            for _ in 0..<8 {
                characters.append(alphabet[Int(value % 62)])
                value /= 62
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
