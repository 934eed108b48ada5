// SPDX-License-Identifier: Apache-2.0
/// The tool calls of the latest assistant turn that still wait for their `tool_result`, in call
/// order.
///
/// A client may send thousands of calls and results in one request, with ids repeated: finding the
/// call a result answers is O(1) (the oldest waiting call with that client id), so a request costs
/// time linear in its size.
struct PendingToolCalls {
    struct Call: Equatable {
        var clientID: String
        var backendID: String
    }

    private var calls: [Call] = []
    private var answered: [Bool] = []
    /// Per client id: the positions in `calls` of its calls, and how many of them were answered.
    private var positions: [String: (all: [Int], answered: Int)] = [:]

    mutating func append(_ call: Call) {
        positions[call.clientID, default: ([], 0)].all.append(calls.count)
        calls.append(call)
        answered.append(false)
    }

    /// The oldest waiting call with `clientID`, now answered; `nil` when none waits.
    mutating func answer(clientID: String) -> Call? {
        guard var entry = positions[clientID], entry.answered < entry.all.count else { return nil }
        let position = entry.all[entry.answered]
        entry.answered += 1
        positions[clientID] = entry
        answered[position] = true
        return calls[position]
    }

    /// The calls no result answered, in call order; none wait afterwards.
    mutating func removeUnanswered() -> [Call] {
        let unanswered = calls.indices.filter { !answered[$0] }.map { calls[$0] }
        self = PendingToolCalls()
        return unanswered
    }
}
