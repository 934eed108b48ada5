// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@Suite("man/sparkctl.1")
struct ManPageTests {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("man/sparkctl.1").path
    static let groff = ["/usr/bin/groff", "/bin/groff"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("renders without a single groff warning", .enabled(if: groff != nil, "groff is not installed (apt-get install groff)"))
    func rendersCleanly() async throws {
        let result = try await runProcess([try #require(Self.groff), "-mandoc", "-ww", "-z", Self.page], environment: ProcessInfo.processInfo.environment)
        #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    }

    @Test("documents every verb, option, exit status and the environment")
    func complete() throws {
        let text = try String(contentsOfFile: Self.page, encoding: .utf8)
        for verb in ["status", "health", "aliases", "top", "trace", "reload", "drain", "resume", "env", "check"] {
            #expect(text.contains("\n.B \(verb)"), "verb \(verb)")
        }
        for option in ["socket", "json", "timeout", "backend", "config", "once", "alias", "bodies", "with\\-key", "generate\\-completion\\-script"] {
            #expect(text.contains("\\-\\-\(option)"), "option --\(option)")
        }
        for code in ["0", "1", "3", "64"] {
            #expect(text.contains("\n.TP\n.B \(code)\n"), "exit status \(code)")
        }
        for name in ["SPARKCTL_SOCKET", "NO_COLOR"] {
            #expect(text.contains(".B \(name)"), "environment \(name)")
        }
    }
}
