// SPDX-License-Identifier: Apache-2.0
extension Array where Element == UInt8 {
    /// Where `needle` first occurs in the array at or after `start`; nil when it does not occur or is
    /// empty. A plain scan: the texts searched (SSE events, prompts, answers) are short.
    public func firstIndex(of needle: [UInt8], from start: Int = 0) -> Int? {
        guard let first = needle.first, start >= 0, needle.count <= count else { return nil }
        var index = start
        let last = count - needle.count
        while index <= last {
            if self[index] == first {
                var matched = 1
                while matched < needle.count, self[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return index }
            }
            index += 1
        }
        return nil
    }
}
