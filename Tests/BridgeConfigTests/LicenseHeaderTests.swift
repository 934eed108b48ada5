// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Every source file says its license (Apache-2.0, LICENSE at the root) in its first lines, as
/// scripts/spdx-headers.sh writes it.
@Suite("License headers")
struct LicenseHeaderTests {
    static let tag = "SPDX-License-Identifier: Apache-2.0"

    @Test("every Swift, C, shell and Python source carries the SPDX identifier; LICENSE is Apache-2.0")
    func everySourceHasTheTag() throws {
        let root = LoopbackConfigTests.root
        let license = try String(contentsOf: root.appendingPathComponent("LICENSE"), encoding: .utf8)
        #expect(license.contains("Apache License") && license.contains("Version 2.0, January 2004"))
        var checked = 0
        for directory in ["Sources", "Tests", "Benchmarks", "scripts"] {
            guard let walker = FileManager.default.enumerator(at: root.appendingPathComponent(directory), includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where ["swift", "c", "h", "sh", "py"].contains(url.pathExtension) {
                if url.path.contains("/__pycache__/") { continue }
                let head = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).prefix(3)
                #expect(head.contains { $0.contains(Self.tag) }, "\(url.path) has no \(Self.tag) line: run scripts/spdx-headers.sh")
                checked += 1
            }
        }
        #expect(checked > 200, "only \(checked) sources found")
    }
}
