// SPDX-License-Identifier: Apache-2.0
@testable import ControlProtocol
import Testing

/// `sparkctl claude-env` prints `export NAME=value` lines a shell evaluates: a value is left bare only
/// when it is made of ASCII letters, digits and `-_./:@%+=,`; anything else is single-quoted.
@Suite struct ShellQuotingTests {
    @Test("URLs, model names and numbers stay bare")
    func plainWords() {
        #expect(ClaudeCodeEnvironment.shellQuoted("http://127.0.0.1:4000") == "http://127.0.0.1:4000")
        #expect(ClaudeCodeEnvironment.shellQuoted("Qwen/Qwen3-Coder-30B_A3B,x=1%+@") == "Qwen/Qwen3-Coder-30B_A3B,x=1%+@")
        #expect(ClaudeCodeEnvironment.shellQuoted("32000") == "32000")
    }

    @Test("an empty value, spaces, shell metacharacters and non-ASCII letters are quoted")
    func quotedWords() {
        #expect(ClaudeCodeEnvironment.shellQuoted("") == "''")
        #expect(ClaudeCodeEnvironment.shellQuoted("a b") == "'a b'")
        #expect(ClaudeCodeEnvironment.shellQuoted("$(rm -rf ~)") == "'$(rm -rf ~)'")
        #expect(ClaudeCodeEnvironment.shellQuoted("café") == "'café'")
        #expect(ClaudeCodeEnvironment.shellQuoted("ﬁ") == "'ﬁ'")
    }

    @Test("a single quote inside becomes '\\'' and quotes at either end are kept")
    func embeddedQuotes() {
        #expect(ClaudeCodeEnvironment.shellQuoted("it's") == #"'it'\''s'"#)
        #expect(ClaudeCodeEnvironment.shellQuoted("'x'") == #"''\''x'\'''"#)
        #expect(ClaudeCodeEnvironment.shellQuoted("'") == #"''\'''"#)
    }
}
