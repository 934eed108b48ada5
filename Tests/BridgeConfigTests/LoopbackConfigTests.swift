// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// No test, demo, benchmark, default or example configuration may point the bridge at an address
/// other than loopback: a package installed next to vLLM, or a test run on a shared network, must
/// never send a request to a stranger's machine.
@Suite("Configurations in the repository point at loopback only")
struct LoopbackConfigTests {
    /// The repository root of this checkout.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Directories never searched: build products, virtualenvs, package output.
    static let skipped: Set<String> = [".build", ".venv", ".venv-litellm", "dist", ".git", "node_modules"]

    /// Every YAML file in the repository, and the Swift sources of the benchmarks (which embed configs).
    static func configFiles() -> [URL] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey]) else { return [] }
        var files: [URL] = []
        for case let url as URL in walker {
            if skipped.contains(url.lastPathComponent) {
                walker.skipDescendants()
                continue
            }
            let relative = url.path.dropFirst(root.path.count + 1)
            if ["yaml", "yml"].contains(url.pathExtension) || (relative.hasPrefix("Benchmarks/") && url.pathExtension == "swift") {
                files.append(url)
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The `api_base` values written on the lines of `text` that are not comments, with their line numbers.
    static func apiBases(in text: String) -> [(line: Int, value: String)] {
        var found: [(Int, String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            var rest = code[...]
            while let key = rest.range(of: "api_base:") {
                let value = rest[key.upperBound...].drop { $0 == " " || $0 == "\"" || $0 == "'" }
                let end = value.firstIndex { " \"',}".contains($0) } ?? value.endIndex
                found.append((index + 1, String(value[..<end])))
                rest = value[end...]
            }
        }
        return found
    }

    /// True for 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    @Test("the search finds the shipped, example, demo, benchmark and system-test configurations")
    func searchCoversTheConfigs() {
        let names = Set(Self.configFiles().map { String($0.path.dropFirst(Self.root.path.count + 1)) })
        for expected in [
            "etc/spark-bridge/config.yaml", "etc/demo/demo.yaml", "packaging/litellm_config.yaml",
            "Tests/system/config.yaml", "Benchmarks/litellm_config.yaml", "Benchmarks/CoreBenchmarks/CoreBenchmarks.swift",
        ] {
            #expect(names.contains(expected), "\(expected) not searched")
        }
    }

    @Test("every api_base is a loopback URL or an os.environ/NAME filled in with one by the script that loads it")
    func everyAPIBaseIsLoopback() throws {
        var checked = 0
        for file in Self.configFiles() {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (line, value) in Self.apiBases(in: text) where !value.hasPrefix("os.environ/") {
                checked += 1
                let host = URLComponents(string: value)?.host ?? ""
                #expect(Self.isLoopback(host: host), "\(file.path):\(line): api_base \(value) is not a loopback address")
            }
        }
        #expect(checked >= 8, "found only \(checked) api_base values: the search is broken")
    }

    @Test("the address check knows loopback from LAN addresses")
    func loopbackRecognised() {
        #expect(Self.isLoopback(host: "127.0.0.1") && Self.isLoopback(host: "127.1.2.3") && Self.isLoopback(host: "[::1]") && Self.isLoopback(host: "localhost"))
        #expect(!Self.isLoopback(host: "192.168.1.50") && !Self.isLoopback(host: "10.0.0.2") && !Self.isLoopback(host: "127.0.0.1.example") && !Self.isLoopback(host: ""))
        #expect(Self.apiBases(in: "  api_base: http://a:1/v1  # api_base: http://b\n{api_base: \"http://c/v1\", k: 1}").map(\.value) == ["http://a:1/v1", "http://c/v1"])
    }
}
