// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import BridgeUpstream

/// The status of a backend's status line, read in place from libcurl's header bytes.
@Suite struct StatusLineTests {
    static func status(_ line: String) -> Int {
        Array(line.utf8).withUnsafeBytes { Transfer.statusCode($0) }
    }

    @Test("the second space-separated field of the status line is the status; anything else is 0")
    func statusIsTheSecondField() {
        #expect(Self.status("HTTP/1.1 200 OK") == 200)
        #expect(Self.status("HTTP/1.1 529 Overloaded Now") == 529)
        #expect(Self.status("HTTP/1.1 404") == 404)
        #expect(Self.status("HTTP/1.1  503  Busy") == 503)
        #expect(Self.status("HTTP/2 100") == 100)
        #expect(Self.status("HTTP/1.1") == 0)
        #expect(Self.status("HTTP/1.1 ") == 0)
        #expect(Self.status("HTTP/1.1 2OO OK") == 0)
        #expect(Self.status("HTTP/1.1 -200 OK") == 0)
        #expect(Self.status("HTTP/1.1 9999999999 OK") == 0)
    }
}
