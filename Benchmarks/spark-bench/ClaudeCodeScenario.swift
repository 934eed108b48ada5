import BridgeJSON

/// Scenario 3's request: Claude Code's size and shape (TEMPORARY builder until BenchWorkloads lands).
enum ClaudeCodeScenario {
    static func workload(clientModel: String, backendModel: String) throws -> (workload: Workload, sizes: String) {
        let filler = String(repeating: "Use the tools to read and edit files. ", count: 1500)
        let history = String(repeating: "The file contains many lines of Swift code and comments. ", count: 2600)
        let body: JSONValue = .object([
            "model": .string(clientModel), "max_tokens": 64, "stream": false,
            "system": .string(filler),
            "messages": .array([
                .object(["role": "user", "content": .string(history)]),
                .object(["role": "assistant", "content": "ok"]),
                .object(["role": "user", "content": #"continue [[sim:{"text":"done","ttft_ms":0}]]"#]),
            ]),
        ])
        return (try Workload(name: "claude-code", anthropicBody: body.jsonBytes, backendModel: backendModel), "temporary")
    }
}
