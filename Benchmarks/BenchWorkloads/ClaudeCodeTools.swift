// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The tools a Claude Code 2.x main request offers, with input schemas shaped like Claude Code's
/// (`additionalProperties: false`, draft-07 `$schema`, nested arrays of objects, enums, defaults) and
/// descriptions of realistic length (Bash, Task and TodoWrite carry multi-KB prompts).
enum ClaudeCodeTools {
    /// One tool: its name, the first sentence of its description, the description's size, its schema.
    struct Spec {
        var name: String
        var lead: String
        var descriptionBytes: Int
        var properties: [(String, JSONValue)]
        var required: [String]
    }

    static func property(_ type: String, _ description: String? = nil, _ extra: [(String, JSONValue)] = []) -> JSONValue {
        var object: JSONObject = ["type": .string(type)]
        if let description { object["description"] = .string(description) }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    static func enumeration(_ values: [String], _ description: String? = nil) -> JSONValue {
        property("string", description, [("enum", .array(values.map { .string($0) }))])
    }

    static func objectSchema(_ properties: [(String, JSONValue)], required: [String], closed: Bool = true) -> JSONValue {
        var object: JSONObject = [
            "type": "object",
            "properties": .object(JSONObject(members: properties.map { JSONObject.Member(key: $0.0, value: $0.1) })),
            "required": .array(required.map { .string($0) }),
        ]
        if closed { object["additionalProperties"] = false }
        return .object(object)
    }

    static let specs: [Spec] = [
        Spec(
            name: "Task",
            lead: "Launch a new agent to handle complex, multi-step tasks autonomously. Available agent types and the tools they have access to:\n- general-purpose: General-purpose agent for researching complex questions, searching for code, and executing multi-step tasks. (Tools: *)\n- statusline-setup: Use this agent to configure the user's Claude Code status line setting. (Tools: Read, Edit)\n- Explore: Fast agent specialized for exploring codebases. (Tools: Glob, Grep, Read, Bash)\n\n",
            descriptionBytes: 5_000,
            properties: [
                ("description", property("string", "A short (3-5 word) description of the task")),
                ("prompt", property("string", "The task for the agent to perform")),
                ("subagent_type", property("string", "The type of specialized agent to use for this task")),
                ("model", enumeration(["sonnet", "opus", "haiku"], "Optional model to use for this agent.")),
            ],
            required: ["description", "prompt", "subagent_type"]
        ),
        Spec(
            name: "Bash",
            lead: "Executes a given bash command in a persistent shell session with optional timeout, ensuring proper handling and security measures.\n\nIMPORTANT: This tool is for terminal operations like git, npm, docker, etc. DO NOT use it for file operations (reading, writing, editing, searching, finding files) - use the specialized tools for this instead.\n\n",
            descriptionBytes: 7_600,
            properties: [
                ("command", property("string", "The command to execute")),
                ("timeout", property("number", "Optional timeout in milliseconds (max 600000)")),
                ("description", property("string", "Clear, concise description of what this command does in 5-10 words, in active voice.")),
                ("run_in_background", property("boolean", "Set to true to run this command in the background. Use BashOutput to read the output later.")),
                ("dangerouslyDisableSandbox", property("boolean", "Set this to true to dangerously override sandbox mode and run commands without sandboxing.")),
            ],
            required: ["command"]
        ),
        Spec(
            name: "Glob",
            lead: "- Fast file pattern matching tool that works with any codebase size\n- Supports glob patterns like \"**/*.js\" or \"src/**/*.ts\"\n",
            descriptionBytes: 700,
            properties: [
                ("pattern", property("string", "The glob pattern to match files against")),
                ("path", property("string", "The directory to search in. If not specified, the current working directory will be used. IMPORTANT: Omit this field to use the default directory. DO NOT enter \"undefined\" or \"null\" - simply omit it for the default behavior. Must be a valid directory path if provided.")),
            ],
            required: ["pattern"]
        ),
        Spec(
            name: "Grep",
            lead: "A powerful search tool built on ripgrep\n\n  Usage:\n  - ALWAYS use Grep for search tasks. NEVER invoke `grep` or `rg` as a Bash command.\n",
            descriptionBytes: 1_900,
            properties: [
                ("pattern", property("string", "The regular expression pattern to search for in file contents")),
                ("path", property("string", "File or directory to search in (rg PATH). Defaults to current working directory.")),
                ("glob", property("string", "Glob pattern to filter files (e.g. \"*.js\", \"*.{ts,tsx}\") - maps to rg --glob")),
                ("output_mode", enumeration(["content", "files_with_matches", "count"], "Output mode: \"content\" shows matching lines, \"files_with_matches\" shows file paths (default), \"count\" shows match counts.")),
                ("-B", property("number", "Number of lines to show before each match (rg -B). Requires output_mode: \"content\", ignored otherwise.")),
                ("-A", property("number", "Number of lines to show after each match (rg -A). Requires output_mode: \"content\", ignored otherwise.")),
                ("-C", property("number", "Number of lines to show before and after each match (rg -C). Requires output_mode: \"content\", ignored otherwise.")),
                ("-n", property("boolean", "Show line numbers in output (rg -n). Requires output_mode: \"content\", ignored otherwise.")),
                ("-i", property("boolean", "Case insensitive search (rg -i)")),
                ("type", property("string", "File type to search (rg --type). Common types: js, py, rust, go, java, etc.")),
                ("head_limit", property("number", "Limit output to first N lines/entries, equivalent to \"| head -N\".")),
                ("multiline", property("boolean", "Enable multiline mode where . matches newlines and patterns can span lines (rg -U --multiline-dotall). Default: false.")),
            ],
            required: ["pattern"]
        ),
        Spec(
            name: "LS",
            lead: "Lists files and directories in a given path. The path parameter must be an absolute path, not a relative path.\n",
            descriptionBytes: 500,
            properties: [
                ("path", property("string", "The absolute path to the directory to list (must be absolute, not relative)")),
                ("ignore", property("array", "List of glob patterns to ignore", [("items", property("string"))])),
            ],
            required: ["path"]
        ),
        Spec(
            name: "ExitPlanMode",
            lead: "Use this tool when you are in plan mode and have finished presenting your plan and are ready to code. This will prompt the user to exit plan mode.\n",
            descriptionBytes: 1_200,
            properties: [("plan", property("string", "The plan you came up with, that you want to run by the user for approval. Supports markdown. The plan should be pretty concise."))],
            required: ["plan"]
        ),
        Spec(
            name: "Read",
            lead: "Reads a file from the local filesystem. You can access any file directly by using this tool.\nAssume this tool is able to read all files on the machine.\n\nUsage:\n- The file_path parameter must be an absolute path, not a relative path\n- By default, it reads up to 2000 lines starting from the beginning of the file\n",
            descriptionBytes: 1_900,
            properties: [
                ("file_path", property("string", "The absolute path to the file to read")),
                ("offset", property("number", "The line number to start reading from. Only provide if the file is too large to read at once")),
                ("limit", property("number", "The number of lines to read. Only provide if the file is too large to read at once.")),
            ],
            required: ["file_path"]
        ),
        Spec(
            name: "Edit",
            lead: "Performs exact string replacements in files. \n\nUsage:\n- You must use your `Read` tool at least once in the conversation before editing.\n",
            descriptionBytes: 1_300,
            properties: [
                ("file_path", property("string", "The absolute path to the file to modify")),
                ("old_string", property("string", "The text to replace")),
                ("new_string", property("string", "The text to replace it with (must be different from old_string)")),
                ("replace_all", property("boolean", "Replace all occurences of old_string (default false)", [("default", false)])),
            ],
            required: ["file_path", "old_string", "new_string"]
        ),
        Spec(
            name: "MultiEdit",
            lead: "This is a tool for making multiple edits to a single file in one operation. It is built on top of the Edit tool and allows you to perform multiple find-and-replace operations efficiently.\n",
            descriptionBytes: 2_400,
            properties: [
                ("file_path", property("string", "The absolute path to the file to modify")),
                ("edits", property("array", "Array of edit operations to perform sequentially on the file", [
                    ("items", objectSchema([
                        ("old_string", property("string", "The text to replace")),
                        ("new_string", property("string", "The text to replace it with")),
                        ("replace_all", property("boolean", "Replace all occurences of old_string (default false).", [("default", false)])),
                    ], required: ["old_string", "new_string"])),
                    ("minItems", 1),
                ])),
            ],
            required: ["file_path", "edits"]
        ),
        Spec(
            name: "Write",
            lead: "Writes a file to the local filesystem.\n\nUsage:\n- This tool will overwrite the existing file if there is one at the provided path.\n",
            descriptionBytes: 800,
            properties: [
                ("file_path", property("string", "The absolute path to the file to write (must be absolute, not relative)")),
                ("content", property("string", "The content to write to the file")),
            ],
            required: ["file_path", "content"]
        ),
        Spec(
            name: "NotebookEdit",
            lead: "Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb file) with new source.\n",
            descriptionBytes: 600,
            properties: [
                ("notebook_path", property("string", "The absolute path to the Jupyter notebook file to edit (must be absolute, not relative)")),
                ("cell_id", property("string", "The ID of the cell to edit.")),
                ("new_source", property("string", "The new source for the cell")),
                ("cell_type", enumeration(["code", "markdown"], "The type of the cell (code or markdown).")),
                ("edit_mode", enumeration(["replace", "insert", "delete"], "The type of edit to make (replace, insert, delete). Defaults to replace.")),
            ],
            required: ["notebook_path", "new_source"]
        ),
        Spec(
            name: "WebFetch",
            lead: "\n- Fetches content from a specified URL and processes it using an AI model\n- Takes a URL and a prompt as input\n",
            descriptionBytes: 1_300,
            properties: [
                ("url", property("string", "The URL to fetch content from", [("format", "uri")])),
                ("prompt", property("string", "The prompt to run on the fetched content")),
            ],
            required: ["url", "prompt"]
        ),
        Spec(
            name: "TodoWrite",
            lead: "Use this tool to create and manage a structured task list for your current coding session. This helps you track progress, organize complex tasks, and demonstrate thoroughness to the user.\n",
            descriptionBytes: 7_000,
            properties: [
                ("todos", property("array", "The updated todo list", [
                    ("items", objectSchema([
                        ("content", property("string", nil, [("minLength", 1)])),
                        ("status", enumeration(["pending", "in_progress", "completed"])),
                        ("activeForm", property("string", nil, [("minLength", 1)])),
                    ], required: ["content", "status", "activeForm"])),
                ])),
            ],
            required: ["todos"]
        ),
        Spec(
            name: "WebSearch",
            lead: "\n- Allows Claude to search the web and use the results to inform responses\n- Provides up-to-date information for current events and recent data\n",
            descriptionBytes: 800,
            properties: [
                ("query", property("string", "The search query to use", [("minLength", 2)])),
                ("allowed_domains", property("array", "Only include search results from these domains", [("items", property("string"))])),
                ("blocked_domains", property("array", "Never include search results from these domains", [("items", property("string"))])),
            ],
            required: ["query"]
        ),
        Spec(
            name: "BashOutput",
            lead: "\n- Retrieves output from a running or completed background bash shell\n- Takes a shell_id parameter identifying the shell\n",
            descriptionBytes: 500,
            properties: [
                ("bash_id", property("string", "The ID of the background shell to retrieve output from")),
                ("filter", property("string", "Optional regular expression to filter the output lines. Only lines matching this regex will be included in the result.")),
            ],
            required: ["bash_id"]
        ),
        Spec(
            name: "KillShell",
            lead: "\n- Kills a running background bash shell by its ID\n- Takes a shell_id parameter identifying the shell to kill\n",
            descriptionBytes: 300,
            properties: [("shell_id", property("string", "The ID of the background shell to kill"))],
            required: ["shell_id"]
        ),
        Spec(
            name: "SlashCommand",
            lead: "Execute a slash command within the main conversation\n\nHow slash commands work:\nWhen you use this tool or when a user types a slash command, you will see <command-message>{name} is running…</command-message> followed by the expanded prompt.\n",
            descriptionBytes: 1_200,
            properties: [("command", property("string", "The slash command to execute with its arguments, e.g., \"/review-pr 123\""))],
            required: ["command"]
        ),
        Spec(
            name: "Skill",
            lead: "Execute a skill within the main conversation\n\n<skills_instructions>\nWhen users ask you to perform tasks, check if any of the available skills below can help complete the task more effectively.\n",
            descriptionBytes: 900,
            properties: [("command", property("string", "The skill name (no arguments). E.g., \"pdf\" or \"xlsx\""))],
            required: ["command"]
        ),
        Spec(
            name: "AskUserQuestion",
            lead: "Use this tool when you need to ask the user questions during execution. This allows you to:\n1. Gather user preferences or requirements\n2. Clarify ambiguous instructions\n",
            descriptionBytes: 900,
            properties: [
                ("questions", property("array", "Questions to ask the user (1-4 questions)", [
                    ("items", objectSchema([
                        ("question", property("string", "The complete question to ask the user. Should be clear, specific, and end with a question mark.")),
                        ("header", property("string", "Very short label displayed as a chip/tag (max 12 chars).")),
                        ("options", property("array", "The available choices for this question. Must have 2-4 options.", [
                            ("items", objectSchema([
                                ("label", property("string", "The display text for this option that the user will see and select.")),
                                ("description", property("string", "Explanation of what this option means or what will happen if chosen.")),
                            ], required: ["label", "description"])),
                            ("minItems", 2), ("maxItems", 4),
                        ])),
                        ("multiSelect", property("boolean", "Set to true to allow the user to select multiple options instead of just one.")),
                    ], required: ["question", "header", "options", "multiSelect"])),
                    ("minItems", 1), ("maxItems", 4),
                ])),
            ],
            required: ["questions"]
        ),
        Spec(
            name: "mcp__ide__getDiagnostics",
            lead: "Get language diagnostics from VS Code",
            descriptionBytes: 40,
            properties: [("uri", property("string", "Optional file URI to get diagnostics for. If not provided, gets diagnostics for all files."))],
            required: []
        ),
    ]

    /// The `tools` array: every spec with its description grown to size from `text`.
    static func tools(text: inout TextGenerator) -> [JSONValue] {
        specs.map { spec in
            var description = spec.lead
            if spec.descriptionBytes > description.utf8.count {
                description += text.prose(bytes: spec.descriptionBytes - description.utf8.count)
            }
            var schema = objectSchema(spec.properties, required: spec.required, closed: spec.name != "WebFetch")
            if case .object(var object) = schema {
                object["$schema"] = "http://json-schema.org/draft-07/schema#"
                schema = .object(object)
            }
            return ["name": .string(spec.name), "description": .string(description), "input_schema": schema]
        }
    }
}
