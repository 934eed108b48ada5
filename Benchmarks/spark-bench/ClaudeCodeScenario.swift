// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads

/// Scenario 3's request: a Claude Code-size conversation (system prompt and tools about 60 KB, history
/// about 150 KB), answered with a few tokens at once, so the time measured is the request's own way.
enum ClaudeCodeScenario {
    static func workload(clientModel: String, backendModel: String) throws -> (workload: Workload, sizes: String) {
        let request = ClaudeCodeWorkload(
            model: clientModel, stream: false, maxTokens: 1024,
            finalUserText: #"Now add a test for the empty-stream case. [[sim:{"text":"Done: the test is added.","ttft_ms":0}]]"#
        )
        return (try Workload(name: "claude-code", anthropicBody: request.body, backendModel: backendModel), request.summary + ".")
    }
}
