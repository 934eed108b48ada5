// SPDX-License-Identifier: Apache-2.0
/// A 64-bit hash that is the same in every process, on every machine and in every version: what
/// several bridges in front of the same GPUs hash must agree without shared state, so Swift's
/// per-process seeded `Hasher` will not do.
///
/// Not cryptographic. Bytes are taken eight at a time (a multiply and a rotate per word), and the
/// result goes through MurmurHash3's 64-bit finalizer so that every output bit depends on every input bit.
public struct StableHash: Sendable {
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325
    private var length: UInt64 = 0

    /// An empty hash.
    public init() {}

    /// The hash of the UTF-8 bytes of `text`.
    public static func of(_ text: String) -> UInt64 {
        var hash = StableHash()
        hash.combine(text)
        return hash.value
    }

    /// Adds the UTF-8 bytes of `text`, then a separator, so that ("ab", "c") and ("a", "bc") differ.
    public mutating func combine(_ text: String) {
        var text = text
        text.withUTF8 { combine(bytes: $0) }
        combine(word: 0xFF)
    }

    /// Adds `bytes`.
    public mutating func combine(bytes: UnsafeBufferPointer<UInt8>) {
        let raw = UnsafeRawBufferPointer(bytes)
        var index = 0
        let whole = bytes.count & ~7
        while index < whole {
            combine(word: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            index += 8
        }
        if index < bytes.count {
            var word: UInt64 = 0
            for shift in 0..<(bytes.count - index) { word |= UInt64(bytes[index + shift]) << (8 * UInt64(shift)) }
            combine(word: word)
        }
        length &+= UInt64(bytes.count)
    }

    /// Adds one 64-bit word.
    public mutating func combine(word: UInt64) {
        let mixed = state ^ (word &* 0x9E37_79B9_7F4A_7C15)
        state = ((mixed &<< 27) | (mixed &>> 37)) &* 0x0000_0100_0000_01B3
    }

    /// The hash of everything added so far.
    public var value: UInt64 { Self.mix(state ^ length) }

    /// MurmurHash3's 64-bit finalizer: a bijection that spreads every input bit over the output.
    public static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x &>> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x &>> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x &>> 33
        return x
    }
}
