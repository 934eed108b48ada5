// SPDX-License-Identifier: Apache-2.0
/// A `model_name` wildcard: `*` matches any run of characters (none included), `?` exactly one;
/// everything else matches itself, case-sensitively. `claude-*haiku*`, `claude-*`, `*`.
struct GlobPattern: Sendable, Equatable {
    let text: String
    private let characters: [Character]

    init(_ text: String) {
        self.text = text
        characters = Array(text)
    }

    /// Whether a model name is written as a pattern rather than an exact name.
    static func isPattern(_ text: String) -> Bool {
        text.contains("*") || text.contains("?")
    }

    /// Whether `name` matches the whole pattern. Linear backtracking on the last `*`: no input can
    /// make it exponential.
    func matches(_ name: String) -> Bool {
        let input = Array(name)
        var p = 0, i = 0
        var starP = -1, starI = 0
        while i < input.count {
            if p < characters.count, characters[p] == "?" || characters[p] == input[i] {
                p += 1
                i += 1
            } else if p < characters.count, characters[p] == "*" {
                starP = p
                starI = i
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starI += 1
                i = starI
            } else {
                return false
            }
        }
        while p < characters.count, characters[p] == "*" { p += 1 }
        return p == characters.count
    }
}
