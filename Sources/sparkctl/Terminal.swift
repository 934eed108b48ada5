// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How output is styled: ANSI colours only when stdout is a terminal and `NO_COLOR` is not set
/// (https://no-color.org: any non-empty value turns colour off).
struct Style {
    let enabled: Bool

    /// The style for this process's stdout.
    static let stdout = Style(
        enabled: isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    )

    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func green(_ text: String) -> String { wrap(text, "32") }
    func yellow(_ text: String) -> String { wrap(text, "33") }

    private func wrap(_ text: String, _ code: String) -> String {
        enabled && !text.isEmpty ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// Writes to stderr, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Pushes what `print` buffered out now (a pipe is block-buffered): each frame or event as it comes.
func flushStandardOutput() {
    // `stdout` itself is a C global Swift 6 will not touch; nil flushes every output stream.
    fflush(nil)
}
