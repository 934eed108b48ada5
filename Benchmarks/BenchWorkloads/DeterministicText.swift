// SPDX-License-Identifier: Apache-2.0
/// SplitMix64: a small, fast generator whose sequence depends only on its seed, so every workload is
/// the same bytes on every machine and every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A number in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// `count` characters of `alphabet`.
    mutating func string(_ count: Int, from alphabet: String) -> String {
        let characters = Array(alphabet)
        return String((0..<count).map { _ in characters[below(characters.count)] })
    }
}

/// English prose and source code in the register of a coding agent's prompts and transcripts:
/// instructions, lists, examples with inline code and quotes, some non-ASCII punctuation — the mix of
/// escapes and plain runs a JSON parser and writer meet in real Claude Code traffic.
struct TextGenerator {
    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    static let instructions = [
        "Use the instructions below and the tools available to you to assist the user.",
        "You should be concise, direct, and to the point.",
        "When you run a non-trivial bash command, you should explain what the command does and why you are running it.",
        "Remember that your output will be displayed on a command line interface — use GitHub-flavored markdown for formatting.",
        "Only use emojis if the user explicitly requests it.",
        "Prefer editing an existing file to creating a new one; never create documentation files unless asked.",
        "IMPORTANT: you must NEVER generate or guess URLs for the user unless you are confident that the URLs are for helping the user with programming.",
        "When making changes to files, first understand the file's code conventions: mimic code style, use existing libraries and utilities, and follow existing patterns.",
        "NEVER assume that a given library is available, even if it is well known; check that this codebase already uses it (look at `package.json`, `Cargo.toml` or `Package.swift`).",
        "Always follow security best practices: never introduce code that exposes or logs secrets and keys, and never commit secrets to the repository.",
        "Do not add comments to the code you write unless the user asks you to, or the code is complex and requires additional context.",
        "Use the TodoWrite tool to plan the task if required, and mark each todo as completed as soon as you are done with it.",
        "Use the available search tools to understand the codebase and the user's query; you are encouraged to use the search tools extensively, both in parallel and sequentially.",
        "Verify the solution if possible with tests; NEVER assume a specific test framework or test script — check the README or search the codebase to determine the testing approach.",
        "When you have completed a task, you MUST run the lint and typecheck commands (e.g. `npm run lint`, `ruff`, `swift build`) if they were provided to you.",
        "NEVER commit changes unless the user explicitly asks you to; it is VERY IMPORTANT to only commit when explicitly asked, otherwise the user will feel that you are being too proactive.",
        "Tool results and user messages may include <system-reminder> tags; they contain useful information and reminders and are not part of the user's provided input.",
        "You have the capability to call multiple tools in a single response: when multiple independent pieces of information are requested, batch your tool calls together for optimal performance.",
        "If the user asks for help or wants to give feedback, inform them of /help and that they can report issues at the project's issue tracker.",
        "When referencing specific functions or pieces of code include the pattern `file_path:line_number` so the user can easily navigate to the source code location.",
        "Avoid using bash commands like `find`, `grep`, `cat`, `head`, `tail`, `sed`, `awk` or `echo` unless explicitly instructed; use the dedicated tools instead.",
        "If the command will create new directories or files, first use `ls` to verify the parent directory exists and is the correct location.",
        "Always quote file paths that contain spaces with double quotes (e.g. cd \"path with spaces/file.txt\").",
        "Try to maintain your current working directory throughout the session by using absolute paths and avoiding usage of `cd`.",
        "Prioritize technical accuracy and truthfulness over validating the user's beliefs — objective guidance and respectful correction are more valuable than false agreement.",
        "It is critical that you mark todos as completed as soon as you are done with a task; do not batch up multiple tasks before marking them as completed.",
        "You can specify an optional timeout in milliseconds (up to 600000ms / 10 minutes); if not specified, commands will time out after 120000ms (2 minutes).",
        "If the output exceeds 30000 characters, output will be truncated before being returned to you.",
        "The edit will FAIL if `old_string` is not unique in the file: either provide a larger string with more surrounding context or use `replace_all`.",
        "When in doubt, use this tool: being proactive with task management demonstrates attentiveness and ensures you complete all requirements successfully.",
        "Launch multiple agents concurrently whenever possible, to maximize performance; to do that, use a single message with multiple tool uses.",
        "Each agent invocation is stateless: you will not be able to send additional messages to the agent, nor will the agent be able to communicate with you outside of its final report.",
        "Lines longer than 2000 characters will be truncated; results are returned using cat -n format, with line numbers starting at 1.",
        "This tool can read images (PNG, JPG, …), PDF files and Jupyter notebooks, returning all cells with their outputs.",
        "Supports full regex syntax (e.g. \"log.*Error\", \"function\\s+\\w+\"); literal braces need escaping (use `interface\\{\\}` to find `interface{}` in Go code).",
        "Results are sorted by modification time, most recent first; use this tool when you need to find files by name patterns.",
        "Your responses should be short and concise — a few lines at most unless the user asks for detail.",
        "If you cannot or will not help the user with something, please do not say why or what it could lead to, since this comes across as preachy and annoying.",
    ]

    static let headings = [
        "# Tone and style", "# Proactiveness", "# Following conventions", "# Code style", "# Task Management",
        "# Doing tasks", "# Tool usage policy", "# Code References", "# Committing changes with git",
        "# Creating pull requests", "# Other common operations", "## Usage notes", "## When to use this tool",
        "## When NOT to use this tool", "## Task states and management", "## Examples",
    ]

    static let requests = [
        "Run the build and fix any type errors", "Add a --verbose flag to the CLI", "Why does the stream test hang on Linux?",
        "Rename the `UpstreamCall` type to `BackendCall` everywhere", "Make the parser reject trailing commas",
        "Add a retry with backoff to the health check", "Write tests for the alias table", "Explain how the tool name map works",
        "Refactor the config loader so errors carry line numbers", "The request log is missing the backend name; fix it",
    ]

    static let answerSentences = [
        "I'll start by searching the codebase for the relevant code.",
        "Let me read the files that handle this so I understand the current behaviour.",
        "The problem is in the decoder: it keeps the line buffer across events instead of clearing it.",
        "I found the cause — `finish()` is called twice when the connection closes early.",
        "Now let me update the implementation and run the tests.",
        "All 214 tests pass and the build is clean.",
        "The fix is small: the loop now stops at the first complete event, and the buffer is reused.",
        "I've updated the todo list to track the remaining steps.",
        "Here's a summary of what changed:",
        "Let me check how the other call sites use this API before changing its signature.",
        "The tests failed because the fixture path is relative to the package root; I'll make it absolute.",
        "I'll run the linter as well, since the project's README asks for it.",
    ]

    static let identifiers = [
        "decoder", "payload", "translator", "buffer", "request", "response", "context", "events", "chunk", "alias",
        "deployment", "backend", "record", "writer", "channel", "settings", "timeout", "schema", "toolNames", "usage",
    ]

    static let types = [
        "SSEDecoder", "StreamTranslator", "JSONValue", "AnthropicRequest", "TranslationContext", "AliasTable",
        "UpstreamRequest", "ResponseWriter", "ByteBuffer", "RequestRecord", "Deployment", "HealthMonitor",
    ]

    mutating func sentence(from bank: [String]) -> String { random.pick(bank) }

    /// Paragraphs, bullet lists and examples, about `bytes` long: cut at the last paragraph boundary
    /// that fits, or past `bytes` at the first one when none does.
    mutating func prose(bytes: Int, headings: Bool = true) -> String {
        var text = ""
        var fitting = ""
        while text.utf8.count < bytes {
            fitting = text
            switch random.below(8) {
            case 0 where headings:
                text += random.pick(Self.headings) + "\n"
            case 1, 2:
                for _ in 0..<random.within(2...5) { text += "- " + random.pick(Self.instructions) + "\n" }
            case 3:
                let request = random.pick(Self.requests)
                text += "<example>\nuser: \(request)\nassistant: \(random.pick(Self.answerSentences)) \(random.pick(Self.answerSentences))\n"
                text += "<commentary>\nThe assistant used the tools because \"\(request.lowercased())\" needs several steps.\n</commentary>\n</example>\n"
            default:
                text += (0..<random.within(2...4)).map { _ in random.pick(Self.instructions) }.joined(separator: " ") + "\n"
            }
            text += "\n"
        }
        return text.utf8.count - bytes > bytes - fitting.utf8.count ? fitting : text
    }

    /// One line of Swift-like source code at `indent` levels.
    mutating func codeLine(indent: Int) -> String {
        let pad = String(repeating: "    ", count: indent)
        let name = random.pick(Self.identifiers)
        let other = random.pick(Self.identifiers)
        let type = random.pick(Self.types)
        switch random.below(10) {
        case 0: return pad + "/// The \(name) of the \(other), kept until the \(random.pick(Self.identifiers)) is written."
        case 1: return pad + "let \(name) = try \(type)(\(other): \(other), at: \"messages.\\(index).content\")"
        case 2: return pad + "guard let \(name) = \(other)[\"\(name)\"]?.stringValue else { throw .invalid(\"\(name): Field required\") }"
        case 3: return pad + "for (index, \(name)) in \(other).enumerated() where !\(name).isEmpty {"
        case 4: return pad + "\(name).append(contentsOf: \(other).utf8)  // \(random.pick(Self.answerSentences).lowercased())"
        case 5: return pad + "if case .\(name)(let value)? = \(other).last { return value }"
        case 6: return pad + "var \(name): [\(type)] = []"
        case 7: return pad + "logger.debug(\"\(name) → \\(\(other).count) items\", metadata: [\"REQUEST_ID\": \"\\(requestID)\"])"
        case 8: return pad + "self.\(name) = \(name)"
        default: return pad + "return \(type).\(name)(\(other), count: \(random.within(1...512)))"
        }
    }

    /// A source file of `lines` lines: declarations, nested blocks, doc comments.
    mutating func sourceFile(lines: Int) -> [String] {
        var result = ["import BridgeJSON", "import Foundation", ""]
        var depth = 0
        while result.count < lines {
            if depth == 0 {
                result.append("/// \(random.pick(Self.instructions))")
                result.append("struct \(random.pick(Self.types))\(random.within(1...99)): Sendable {")
                depth = 1
                continue
            }
            let line = codeLine(indent: depth)
            result.append(line)
            if line.hasSuffix("{") { depth += 1 }
            if depth > 1, random.below(5) == 0 {
                depth -= 1
                result.append(String(repeating: "    ", count: depth) + "}")
            }
            if depth == 1, random.below(12) == 0 {
                result.append("}")
                result.append("")
                depth = 0
            }
        }
        while depth > 0 {
            depth -= 1
            result.append(String(repeating: "    ", count: depth) + "}")
        }
        return result
    }

    /// `lines` as the Read tool returns them: `cat -n` numbering from `first`, a tab, the line.
    static func numbered(_ lines: some Collection<String>, first: Int = 1) -> String {
        lines.enumerated().map { offset, line in
            let number = String(first + offset)
            return String(repeating: " ", count: max(0, 6 - number.count)) + number + "\t" + line
        }.joined(separator: "\n")
    }
}
