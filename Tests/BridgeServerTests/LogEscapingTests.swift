// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import Testing
@testable import BridgeServer

/// Log fields come from clients and backends: on the console, one record stays one line.
@Suite("log escaping")
struct LogEscapingTests {
    @Test("a newline in a model name cannot start a forged line")
    func newline() {
        let message = "req_1 POST /v1/messages claude\nINFO     req_2 POST /v1/messages status=200"
        let escaped = ConsoleLogHandler.escaped(message)
        #expect(!escaped.contains("\n"))
        #expect(escaped == #"req_1 POST /v1/messages claude\nINFO     req_2 POST /v1/messages status=200"#)
    }

    @Test("every control character is escaped: \\r \\t by name, NUL, ESC, DEL, C1 and line separators as \\u")
    func controlCharacters() {
        #expect(ConsoleLogHandler.escaped("a\rb\tc") == #"a\rb\tc"#)
        #expect(ConsoleLogHandler.escaped("nul\u{0}esc\u{1B}[31mdel\u{7F}") == #"nul\u0000esc\u001b[31mdel\u007f"#)
        #expect(ConsoleLogHandler.escaped("c1\u{85}ls\u{2028}ps\u{2029}") == #"c1\u0085ls\u2028ps\u2029"#)
        for value in 0..<0x20 {
            #expect(!ConsoleLogHandler.escaped("x\(Character(Unicode.Scalar(UInt8(value))))y").unicodeScalars.contains { $0.value < 0x20 })
        }
    }

    @Test("a backslash is doubled, so an escape in the log is never ambiguous with text that looked like one")
    func backslash() {
        #expect(ConsoleLogHandler.escaped(#"a\nb"#) == #"a\\nb"#)
    }

    @Test("printable text, accents, CJK and emoji included, is unchanged")
    func printableUnchanged() {
        let text = "claude-sonnet-4 → Qwen/Qwen3 «été» 模型 🚀 status=200"
        #expect(ConsoleLogHandler.escaped(text) == text)
    }

    @Test("printable ASCII comes back as it is; a backslash or DEL after it is still escaped")
    func asciiFastPath() {
        let line = "req_1 POST /v1/messages claude-sonnet-4-5 -> Qwen/Qwen3 @ gpu-a status=200 duration_ms=3"
        #expect(ConsoleLogHandler.escaped(line) == line)
        #expect(ConsoleLogHandler.escaped(line + "\\") == line + #"\\"#)
        #expect(ConsoleLogHandler.escaped(line + "\u{7F}") == line + #"\u007f"#)
    }

    @Test("the console timestamp is what Foundation's ISO 8601 format writes, for any second")
    func timestamp() {
        let seconds = [0, 59, 951_782_400, 1_709_164_800, 1_764_949_709, 4_102_444_799, 253_402_300_799]
        for second in seconds {
            #expect(ConsoleLogHandler.timestamp(secondsSince1970: second) == Date(timeIntervalSince1970: Double(second)).formatted(.iso8601))
        }
        var second = 1_700_000_000
        for _ in 0..<200 {
            second += 86_400 * 3 + 3_671
            #expect(ConsoleLogHandler.timestamp(secondsSince1970: second) == Date(timeIntervalSince1970: Double(second)).formatted(.iso8601))
        }
    }

    @Test("a client's path or model name is clipped in the log line, so one request cannot write kilobytes")
    func clipped() {
        #expect(RequestRecord.clipped(String(repeating: "m", count: 100_000)) == String(repeating: "m", count: 256) + "…")
        #expect(RequestRecord.clipped(String(repeating: "é", count: 256)) == String(repeating: "é", count: 256))
        #expect(RequestRecord.clipped("claude-test") == "claude-test")
    }

    @Test("journald fields keep the bytes as sent: a newline stays a newline (sent length-prefixed)")
    func journaldKeepsBytes() {
        let fields = JournaldLogHandler.fields(
            message: "model a\nb", level: .info, identifier: "spark-bridge", file: "f.swift", line: 1, function: "f()",
            metadata: ["ALIAS": "a\nb\u{0}c", "lower": "ignored"]
        )
        #expect(fields.contains("MESSAGE=model a\nb"))
        #expect(fields.contains("ALIAS=a\nb\u{0}c"))
        #expect(!fields.contains { $0.hasPrefix("lower=") })
    }

    @Test("the console level column is the level in upper case padded to 8 columns, at least one space after it")
    func consoleLevelColumn() {
        for level in Logger.Level.allCases {
            let name = level.rawValue.uppercased()
            let expected = name + String(repeating: " ", count: max(1, 8 - name.count))
            #expect(ConsoleLogHandler.levelColumn(level).description == expected)
        }
    }
}
