// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import BridgeServer

/// Request ids as Anthropic writes them, made fresh for each request.
@Suite struct RequestIDTests {
    @Test("an id is req_ and 24 base-62 characters, and ids differ")
    func shape() {
        let ids = (0..<200).map { _ in RequestID.make() }
        for id in ids {
            #expect(id.utf8.count == 28)
            #expect(id.hasPrefix("req_"))
            #expect(id.utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        }
        #expect(Set(ids).count == ids.count)
    }
}
