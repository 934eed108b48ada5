// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Random identifiers in the formats vLLM uses.
enum Identifiers {
    /// `chatcmpl-<uuid4 with dashes, lowercase>`, as newer vLLM releases name completions.
    static func completionID() -> String {
        "chatcmpl-" + UUID().uuidString.lowercased()
    }

    /// `call_<24 hex>`, as the qwen3_coder tool parser names tool calls.
    static func toolCallID() -> String {
        "call_" + randomHex(24)
    }

    /// `count` random lowercase hex digits.
    static func randomHex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        var generator = SystemRandomNumberGenerator()
        var bits: UInt64 = 0
        var available = 0
        for _ in 0..<count {
            if available == 0 {
                bits = generator.next()
                available = 16
            }
            bytes.append(digits[Int(bits & 0xF)])
            bits >>= 4
            available -= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
