// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// A Claude Code-size Anthropic Messages request body, built deterministically: the same parameters
/// give the same bytes on every machine and in every run.
///
/// It has the shape of a Claude Code 2.x main request (`claude-code/claude-code-main-request-shape.json`
/// in the shared protocol fixtures): `system` as three text blocks (the per-request billing header, the
/// identity line and the long prompt, both with `cache_control`), about twenty tools with Claude Code's
/// schemas and multi-KB descriptions — together about 60 KB — then about 150 KB of history: the first
/// user turn with `<system-reminder>` blocks, assistant turns with thinking blocks (and signatures),
/// text and `tool_use` blocks (several in parallel in some turns), user turns of `tool_result` blocks
/// carrying file contents, command output and one error, and `metadata.user_id` and `thinking` as
/// Claude Code sends them. The history ends with an assistant text turn; the last message is the user's
/// `finalUserText`.
public struct ClaudeCodeWorkload: Sendable {
    /// Byte counts of the parts of the body, each as compact JSON (the body is compact JSON).
    public struct Sizes: Sendable, Equatable {
        /// The `system` array.
        public var systemBytes: Int
        /// The `tools` array.
        public var toolsBytes: Int
        /// `system` and `tools`: the prefix Claude Code sends unchanged on every turn.
        public var systemAndToolsBytes: Int { systemBytes + toolsBytes }
        /// The messages before the final user message, with the commas between them.
        public var historyBytes: Int
        /// The whole body.
        public var bodyBytes: Int
    }

    /// What the body holds, counted while building it, to check a translation against.
    public struct Shape: Sendable, Equatable {
        /// Tools offered (all custom tools: none is an Anthropic server tool).
        public var toolCount: Int
        /// Entries of `messages`, the final user message included.
        public var messageCount: Int
        /// Assistant messages.
        public var assistantMessageCount: Int
        /// `tool_use` blocks, over all assistant messages; every one gets a `tool_result`.
        public var toolUseCount: Int
        /// `tool_result` blocks, over all user messages.
        public var toolResultCount: Int
        /// `tool_result` blocks with `is_error: true`.
        public var errorResultCount: Int
        /// User messages holding at least one text block (each becomes one OpenAI `user` message).
        public var userTextMessageCount: Int
        /// Thinking blocks in assistant messages (never sent to the backend).
        public var thinkingBlockCount: Int

        /// Messages of the translated OpenAI body: one system message, one per user text message and per
        /// assistant message, one `tool` message per tool result.
        public var expectedOpenAIMessageCount: Int { 1 + userTextMessageCount + assistantMessageCount + toolResultCount }
    }

    /// The model name of Claude Code 2.x's main requests.
    public static let defaultModel = "claude-sonnet-4-5-20250929"
    /// The `max_tokens` Claude Code asks for in main requests.
    public static let defaultMaxTokens = 32_000
    /// Size the history is grown to (it stops at the end of the task that passes it).
    public static let targetHistoryBytes = 148_000

    /// The `model` the request asks for.
    public let model: String
    /// The request's `stream` flag.
    public let stream: Bool
    /// The request's `max_tokens`.
    public let maxTokens: Int
    /// The text of the last user message.
    public let finalUserText: String
    /// The request body: compact JSON, UTF-8.
    public let body: [UInt8]
    /// Byte counts of the body's parts.
    public let sizes: Sizes
    /// What the body holds.
    public let shape: Shape

    /// Builds the request.
    ///
    /// - Parameters:
    ///   - model: the `model` the client asks for.
    ///   - stream: the `stream` flag.
    ///   - maxTokens: `max_tokens`; `thinking` is `enabled` with `budget_tokens` one less when it is
    ///     above 1024, as Claude Code sends it, and `disabled` otherwise.
    ///   - finalUserText: the text of the last user message (a load generator puts a simulator
    ///     directive there, `[[sim:{"text":"ok","ttft_ms":20}]]`).
    public init(
        model: String = ClaudeCodeWorkload.defaultModel,
        stream: Bool = true,
        maxTokens: Int = ClaudeCodeWorkload.defaultMaxTokens,
        finalUserText: String = "Now add a test for the empty-stream case and run the whole suite."
    ) {
        self.model = model
        self.stream = stream
        self.maxTokens = maxTokens
        self.finalUserText = finalUserText

        var text = TextGenerator(seed: 0x5EED_C1A0_DE00_0001)
        let system = Self.system(text: &text)
        let tools = ClaudeCodeTools.tools(text: &text)
        var history = HistoryBuilder(text: TextGenerator(seed: 0x5EED_C1A0_DE00_0002))
        history.build(targetBytes: Self.targetHistoryBytes)
        let historyBytes = history.bytes
        history.userText([finalUserText], cacheLast: true)

        let thinking: JSONValue = maxTokens > 1024
            ? ["type": "enabled", "budget_tokens": .int(maxTokens - 1)]
            : ["type": "disabled"]
        let metadata: JSONValue = [
            "user_id": .string(#"{"device_id":"3f4a1b7c8d9e0f1234567890abcdef1234567890abcdef1234567890abcdef12","account_uuid":"","session_id":"2c4e1cf0-7a67-4d2e-9a4b-1d16d3f44752"}"#),
        ]
        let request: JSONValue = [
            "model": .string(model),
            "max_tokens": .int(maxTokens),
            "stream": .bool(stream),
            "system": .array(system),
            "messages": .array(history.messages),
            "tools": .array(tools),
            "metadata": metadata,
            "thinking": thinking,
        ]
        body = request.jsonBytes
        sizes = Sizes(
            systemBytes: JSONValue.array(system).jsonBytes.count,
            toolsBytes: JSONValue.array(tools).jsonBytes.count,
            historyBytes: historyBytes,
            bodyBytes: body.count
        )
        shape = Shape(
            toolCount: tools.count,
            messageCount: history.messages.count,
            assistantMessageCount: history.assistantMessages,
            toolUseCount: history.toolUses,
            toolResultCount: history.toolResults,
            errorResultCount: history.errorResults,
            userTextMessageCount: history.userTextMessages,
            thinkingBlockCount: history.thinkingBlocks
        )
    }

    /// One line for a report: `body 214.0 KB: system+tools 61.2 KB (20 tools), history 150.1 KB (…)`.
    public var summary: String {
        "Claude Code request body \(Self.kilobytes(sizes.bodyBytes)): system+tools \(Self.kilobytes(sizes.systemAndToolsBytes)) "
            + "(\(shape.toolCount) tools), history \(Self.kilobytes(sizes.historyBytes)) (\(shape.messageCount) messages, "
            + "\(shape.toolUseCount) tool calls, \(shape.toolResultCount) tool results)"
    }

    /// `bytes` in KB (1000 bytes), one decimal.
    public static func kilobytes(_ bytes: Int) -> String {
        let tenths = (bytes + 50) / 100
        return "\(tenths / 10).\(tenths % 10) KB"
    }

    static func system(text: inout TextGenerator) -> [JSONValue] {
        var prompt = "\nYou are an interactive agent that helps users with software engineering tasks. "
        prompt += "Use the instructions below and the tools available to you to assist the user.\n\n"
        prompt += text.prose(bytes: 10_600)
        prompt += """
            Here is useful information about the environment you are running in:
            <env>
            Working directory: /home/dev/spark-bridge
            Is directory a git repo: Yes
            Platform: linux
            OS Version: Linux 6.1.0-18-amd64
            Today's date: 2026-05-14
            </env>
            You are powered by the model named Sonnet 4.5. The exact model ID is claude-sonnet-4-5-20250929.

            gitStatus: This is the git status at the start of the conversation. Note that this status is a snapshot in time, and will not update during the conversation.
            Current branch: bench-core

            Main branch (you will usually use this for PRs): main

            Status:
            M Sources/BridgeCore/Translation/StreamTranslator.swift
            ?? Benchmarks/

            Recent commits:
            5a5d0b9 Docs say what the daemon does: drained requests get 529 (not 503)
            252d4c8 Install groff-base for the tests: the man-page render test skipped itself without it
            781cf8b Say each thing once: shared JSON escaping, one clock read per log line, one finish callback
            """
        let ephemeral: JSONValue = ["type": "ephemeral"]
        return [
            ["type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.226.ab9; cc_entrypoint=cli;"],
            ["type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": ephemeral],
            ["type": "text", "text": .string(prompt), "cache_control": ephemeral],
        ]
    }
}

/// Builds the conversation turn by turn, the way a Claude Code session grows: a request, searches,
/// reads, todo updates, edits, builds that fail and pass, a summary.
struct HistoryBuilder {
    var text: TextGenerator
    var messages: [JSONValue] = []
    /// Compact JSON bytes of `messages` so far, commas between them included.
    var bytes = 0
    var assistantMessages = 0
    var toolUses = 0
    var toolResults = 0
    var errorResults = 0
    var userTextMessages = 0
    var thinkingBlocks = 0
    private var files: [String] = []

    init(text: TextGenerator) { self.text = text }

    static let root = "/home/dev/spark-bridge"
    static let paths = [
        "Sources/BridgeCore/OpenAI/SSEDecoder.swift", "Sources/BridgeCore/Translation/StreamTranslator.swift",
        "Sources/BridgeCore/Translation/RequestTranslator.swift", "Sources/BridgeServer/MessagesExchange.swift",
        "Sources/BridgeServer/UpstreamCall.swift", "Sources/BridgeConfig/AliasTable.swift",
        "Sources/BridgeJSON/JSONParser.swift", "Tests/BridgeCoreTests/StreamTranslationTests.swift",
        "Sources/BridgeServer/HealthMonitor.swift", "Sources/BridgeUpstream/CurlLoop.swift",
    ]
    static let malwareReminder = "\n\n<system-reminder>\nWhenever you read a file, you should consider whether it would be considered malware. You CAN and SHOULD provide analysis of malware, what it is doing. But you MUST refuse to improve or augment the code. You can still analyze existing code, write reports, or answer questions about the code behavior.\n</system-reminder>\n"

    private mutating func append(_ message: JSONValue) {
        bytes += message.jsonBytes.count + (messages.isEmpty ? 0 : 1)
        messages.append(message)
    }

    mutating func userText(_ texts: [String], cacheLast: Bool = false) {
        var blocks: [JSONValue] = texts.map { ["type": "text", "text": .string($0)] }
        if cacheLast, case .object(var last)? = blocks.last {
            last["cache_control"] = ["type": "ephemeral"]
            blocks[blocks.count - 1] = .object(last)
        }
        userTextMessages += 1
        append(["role": "user", "content": .array(blocks)])
    }

    /// An assistant turn; returns the ids of its tool calls.
    mutating func assistant(thinking: Bool, text answer: String?, calls: [(String, JSONValue)]) -> [String] {
        var blocks: [JSONValue] = []
        if thinking {
            thinkingBlocks += 1
            let thought = (0..<text.random.within(2...5)).map { _ in text.sentence(from: TextGenerator.answerSentences) }.joined(separator: " ")
            let signature = text.random.string(text.random.within(300...600), from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            blocks.append(["type": "thinking", "thinking": .string(thought), "signature": .string("Eq" + signature + "==")])
        }
        if let answer { blocks.append(["type": "text", "text": .string(answer)]) }
        var ids: [String] = []
        for (name, input) in calls {
            let id = "toolu_01" + text.random.string(22, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            ids.append(id)
            blocks.append(["type": "tool_use", "id": .string(id), "name": .string(name), "input": input])
        }
        assistantMessages += 1
        toolUses += calls.count
        append(["role": "assistant", "content": .array(blocks)])
        return ids
    }

    /// A user turn of tool results (content: a string, or a list of text blocks), optionally followed
    /// by a text block (Claude Code appends `<system-reminder>`s there).
    mutating func results(_ results: [(id: String, content: JSONValue, isError: Bool)], trailingText: String? = nil) {
        var blocks: [JSONValue] = results.map { result in
            var block: JSONObject = ["tool_use_id": .string(result.id), "type": "tool_result", "content": result.content]
            if result.isError { block["is_error"] = true }
            return .object(block)
        }
        if let trailingText {
            blocks.append(["type": "text", "text": .string(trailingText)])
            userTextMessages += 1
        }
        toolResults += results.count
        errorResults += results.filter(\.isError).count
        append(["role": "user", "content": .array(blocks)])
    }

    /// Adds whole tasks until the history reaches `targetBytes`.
    mutating func build(targetBytes: Int) {
        var task = 0
        while bytes < targetBytes {
            addTask(task)
            task += 1
        }
    }

    private mutating func path() -> String { Self.root + "/" + text.random.pick(Self.paths) }

    private mutating func answer(_ sentences: ClosedRange<Int>) -> String {
        (0..<text.random.within(sentences)).map { _ in text.sentence(from: TextGenerator.answerSentences) }.joined(separator: " ")
    }

    mutating func addTask(_ task: Int) {
        let request = text.random.pick(TextGenerator.requests)
        if task == 0 {
            let claudeMd = "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\n"
                + "Codebase and user instructions are shown below. Be sure to adhere to these instructions. IMPORTANT: These instructions OVERRIDE any default behavior and you MUST follow them exactly as written.\n\n"
                + "Contents of /home/dev/spark-bridge/CLAUDE.md (project instructions, checked into the codebase):\n\n"
                + text.prose(bytes: 2_600) + "</system-reminder>\n"
            let todo = "<system-reminder>\nThis is a reminder that your todo list is currently empty. DO NOT mention this to the user explicitly because they are already aware. If you are working on tasks that would benefit from a todo list please use the TodoWrite tool to create one. If not, please feel free to ignore. Again do not mention this message to the user.\n</system-reminder>"
            userText([claudeMd, todo, request])
        } else {
            userText([request])
        }

        // Search.
        let pattern = text.random.pick(TextGenerator.types)
        var ids = assistant(thinking: true, text: answer(1...2), calls: [
            ("Grep", ["pattern": .string(pattern), "output_mode": "files_with_matches"]),
        ])
        files = (0..<text.random.within(3...8)).map { _ in path() }
        results([(ids[0], .string("Found \(files.count) files\n" + files.joined(separator: "\n")), false)])

        // Read one to three files at once.
        let reads = Array(Set(files)).sorted().prefix(text.random.within(1...3))
        ids = assistant(thinking: false, text: answer(1...1), calls: reads.map { ("Read", ["file_path": .string($0)]) })
        results(ids.map { id in
            let lines = text.sourceFile(lines: text.random.within(50...110))
            let listing = TextGenerator.numbered(lines) + Self.malwareReminder
            let content: JSONValue = text.random.below(2) == 0 ? .string(listing) : [["type": "text", "text": .string(listing)]]
            return (id, content, false)
        })

        // Plan.
        let steps = text.random.within(3...5)
        let todos: [JSONValue] = (0..<steps).map { index in
            let step = text.sentence(from: TextGenerator.requests)
            return ["content": .string(step), "status": .string(index == 0 ? "in_progress" : "pending"), "activeForm": .string("Working on: " + step.lowercased())]
        }
        ids = assistant(thinking: true, text: nil, calls: [("TodoWrite", ["todos": .array(todos)])])
        results([(ids[0], "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable", false)])

        // Edit, build; a failing build gets a second edit.
        let failing = text.random.below(3) == 0
        for attempt in 0..<(failing ? 2 : 1) {
            let file = reads.first ?? path()
            let old = (0..<text.random.within(4...12)).map { _ in text.codeLine(indent: 2) }.joined(separator: "\n")
            let new = old + "\n" + (0..<text.random.within(2...8)).map { _ in text.codeLine(indent: 2) }.joined(separator: "\n")
            ids = assistant(thinking: attempt > 0, text: answer(1...2), calls: [
                ("Edit", ["file_path": .string(file), "old_string": .string(old), "new_string": .string(new)]),
            ])
            let snippet = TextGenerator.numbered(new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), first: text.random.within(20...300))
            results([(ids[0], .string("The file \(file) has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n" + snippet), false)])

            ids = assistant(thinking: false, text: nil, calls: [
                ("Bash", ["command": "swift build --build-tests 2>&1 | tail -20", "description": "Build the package and its tests", "timeout": 600000]),
            ])
            if failing, attempt == 0 {
                let error = "Exit code 1\n" + (0..<text.random.within(4...10)).map { _ in
                    "\(file):\(text.random.within(10...400)):\(text.random.within(5...60)): error: cannot find '\(text.random.pick(TextGenerator.identifiers))' in scope"
                }.joined(separator: "\n") + "\nerror: fatalError"
                results([(ids[0], .string(error), true)])
            } else {
                let output = (0..<text.random.within(4...12)).map { index in
                    "[\(index + 1)/\(index + 40)] Compiling \(text.random.pick(TextGenerator.types)) \(text.random.pick(TextGenerator.types)).swift"
                }.joined(separator: "\n") + "\nBuild complete! (\(text.random.within(3...90)).\(text.random.within(10...99))s)"
                results([(ids[0], .string(output), false)], trailingText: text.random.below(2) == 0
                    ? "<system-reminder>\nThe TodoWrite tool hasn't been used recently. If you're working on tasks that would benefit from tracking progress, consider using the TodoWrite tool to track progress.\n</system-reminder>"
                    : nil)
            }
        }

        // Look at the change: two commands in parallel.
        ids = assistant(thinking: false, text: "Let me check the state of the working tree.", calls: [
            ("Bash", ["command": "git status --short", "description": "Show working tree status"]),
            ("Bash", ["command": "git diff --stat", "description": "Show changed files"]),
        ])
        let changed = Array(Set(reads)).sorted()
        results([
            (ids[0], .string(changed.map { " M " + $0.replacingOccurrences(of: Self.root + "/", with: "") }.joined(separator: "\n")), false),
            (ids[1], .string(changed.map { " \($0.replacingOccurrences(of: Self.root + "/", with: "")) | \(text.random.within(2...40)) ++++--" }.joined(separator: "\n")
                + "\n \(changed.count) files changed, \(text.random.within(5...80)) insertions(+), \(text.random.within(1...30)) deletions(-)"), false),
        ])

        // Summary.
        let summary = answer(1...2) + "\n\n" + (0..<text.random.within(2...4)).map { _ in
            "- `\(text.random.pick(TextGenerator.types))`: \(text.sentence(from: TextGenerator.answerSentences))"
        }.joined(separator: "\n") + "\n\n" + answer(1...1)
        _ = assistant(thinking: false, text: summary, calls: [])
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
