// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import Testing

/// The helpers that stand in for Foundation-only calls (the daemon links FoundationEssentials only).
@Suite struct FoundationEssentialsReplacementTests {
    @Test("the control socket's directory is its path without the last component, as NSString gives it")
    func socketParentDirectory() {
        #expect(SocketFile.parentDirectory(of: "/run/spark-bridge/control.sock") == "/run/spark-bridge")
        #expect(SocketFile.parentDirectory(of: "/run//spark-bridge//control.sock/") == "/run/spark-bridge")
        #expect(SocketFile.parentDirectory(of: "/control.sock") == "/")
        #expect(SocketFile.parentDirectory(of: "/") == "/")
        #expect(SocketFile.parentDirectory(of: "control.sock") == "")
        #expect(SocketFile.parentDirectory(of: "run/control.sock") == "run")
    }

    @Test("markers are found in any ASCII case, from the given index on, and not found when absent")
    func caseInsensitiveSearch() throws {
        let text = "x: BEARER abc, bearer def"
        let first = try #require(TraceRedaction.rangeIgnoringASCIICase(of: "Bearer ", in: text, from: text.startIndex))
        #expect(text[first] == "BEARER ")
        let second = try #require(TraceRedaction.rangeIgnoringASCIICase(of: "Bearer ", in: text, from: first.upperBound))
        #expect(text[second] == "bearer ")
        #expect(TraceRedaction.rangeIgnoringASCIICase(of: "Bearer ", in: text, from: second.upperBound) == nil)
        #expect(TraceRedaction.rangeIgnoringASCIICase(of: "Bearer ", in: "Bearer", from: "Bearer".startIndex) == nil)
        let accented = "é X-Anthropic-Billing-Header: v"
        let found = try #require(TraceRedaction.rangeIgnoringASCIICase(of: TraceRedaction.billingHeaderPrefix, in: accented, from: accented.startIndex))
        #expect(accented[found] == "X-Anthropic-Billing-Header:")
    }

    @Test("a redacted Bearer token is blanked whatever the case of the marker")
    func redactsMixedCaseBearer() {
        #expect(TraceRedaction.redactText("authorization: bEaReR sk-abc\nnext") == "authorization: bEaReR [redacted]\nnext")
    }
}
