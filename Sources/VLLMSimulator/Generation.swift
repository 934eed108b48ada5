// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// One delta of a streamed answer, as vLLM's parsers produce them.
enum OutputDelta: Sendable, Equatable {
    case reasoning(String)
    case content(String)
    /// The first delta of a tool call: id, type, index and name, with `arguments` `"{"`.
    case toolCallStart(index: Int, id: String, name: String)
    /// A fragment of a tool call's arguments: one whole parameter, or the closing `}`.
    case toolCallArguments(index: Int, fragment: String)
}

/// How a generation ends, as the final choice chunk shows it.
struct Finish: Sendable, Equatable {
    /// `finish_reason`.
    var reason: String
    /// `stop_reason`: the matched stop string, or `nil` (written as `null`).
    var stopReason: String?
}

/// A complete simulated generation: what is sent, in which token slots, and how it ends.
///
/// Token accounting: every reasoning or content piece is one token; the `</think>` boundary and the
/// end-of-sequence token are one token each; tool-call XML (`<tool_call>\n<function=NAME>\n`, each
/// `<parameter=K>\nV\n</parameter>\n`, `</function>\n</tool_call>`) costs as many tokens as
/// ``AnswerTokenizer`` cuts it into.
struct Generation: Sendable {
    /// A unit of generated output: `cost` tokens, then (optionally) one delta.
    struct Step: Sendable, Equatable {
        /// What the step streams; `nil` for tokens vLLM's parsers swallow (`</think>`, hidden reasoning).
        var delta: OutputDelta?
        var cost: Int
        /// The step's text as the model generated it (for stop strings), `nil` for tool-call steps.
        var text: String?
        var isReasoning = false
    }

    /// The delta of a separate final chunk.
    enum FinalDelta: Sendable, Equatable {
        /// `{"content":""}`: the end-of-sequence token, or a stop string at a token boundary.
        case emptyContent
        /// `{}`: a final token that produced no delta.
        case empty
        case output(OutputDelta)
    }

    enum Ending: Sendable, Equatable {
        /// A final chunk of its own; no chunk at all when `finish` is `nil` (`no_finish`).
        case separate(FinalDelta, Finish?)
        /// The finish rides on the last step's chunk (length truncation on a delta token).
        case onLastStep(Finish?)
        /// `data: {"error": …}` after the steps, no finish.
        case midstreamError(APIError)
    }

    /// The steps sent, in order.
    var steps: [Step]
    var ending: Ending
    var promptTokens: Int
    var cachedTokens: Int?
    var completionTokens: Int

    /// The default answer when nothing is scripted.
    static let defaultText = "Hello! This is vllm-sim."

    /// Plans the generation for `request` under `directive`.
    init(request: ChatRequest, directive: SimDirective?, promptTokens: Int, maxModelLen: Int) {
        self.promptTokens = promptTokens
        cachedTokens = directive?.cachedTokens
        var steps: [Step] = []
        let parserActive = request.toolParserActive

        // 1. The natural output, as steps.
        let scripted = directive?.scriptsOutput == true || directive?.midstreamError != nil
        let reasoning = scripted ? directive?.reasoning?.pieces ?? [] : []
        let text = scripted ? directive?.text?.pieces ?? [] : AnswerTokenizer.pieces(Generation.defaultText)
        let raw = directive?.rawContent?.pieces ?? []
        let calls = directive?.toolCalls ?? []
        for piece in reasoning {
            steps.append(Step(delta: request.includeReasoning ? .reasoning(piece) : nil, cost: 1, text: piece, isReasoning: true))
        }
        if !reasoning.isEmpty { steps.append(Step(delta: nil, cost: 1, text: nil)) }  // </think>
        for piece in text + raw { steps.append(Step(delta: .content(piece), cost: 1, text: piece)) }
        if parserActive {
            for (index, call) in calls.enumerated() { steps.append(contentsOf: Generation.toolSteps(call, index: index)) }
        } else if !calls.isEmpty {
            let xml = calls.map(Generation.qwenXML).joined(separator: "\n")
            for piece in AnswerTokenizer.pieces(xml) { steps.append(Step(delta: .content(piece), cost: 1, text: piece)) }
        }

        // 2. A mid-stream error ends everything generated so far.
        if let message = directive?.midstreamError {
            self.steps = steps
            ending = .midstreamError(APIError(status: 500, message: message))
            completionTokens = steps.reduce(0) { $0 + $1.cost }
            return
        }

        // 3. The natural end: a stop string, else the end-of-sequence token.
        var terminalDelta: FinalDelta = .emptyContent
        var terminalCost = 1
        var finish = Finish(reason: "stop", stopReason: nil)
        if let stop = Generation.firstStop(in: steps, stops: request.stop) {
            let step = steps[stop.stepIndex]
            terminalCost = steps[stop.stepIndex...stop.endStepIndex].reduce(0) { $0 + $1.cost }
            if !stop.prefix.isEmpty, step.delta != nil {
                terminalDelta = .output(step.isReasoning ? .reasoning(stop.prefix) : .content(stop.prefix))
            }
            steps.removeSubrange(stop.stepIndex...)
            finish = Finish(reason: "stop", stopReason: stop.string)
        }
        let toolsIn: ([Step]) -> Bool = { list in
            parserActive && list.contains { if case .toolCallStart? = $0.delta { true } else { false } }
        }
        if toolsIn(steps) { finish.reason = "tool_calls" }

        // 4. max_tokens: cut, and end on the last generated token.
        let limit = request.maxTokens ?? max(1, maxModelLen - promptTokens)
        let natural = steps.reduce(0) { $0 + $1.cost } + terminalCost
        var ending: Ending
        if natural <= limit {
            ending = .separate(terminalDelta, finish)
            completionTokens = natural
        } else {
            var used = 0
            var kept = 0
            while kept < steps.count, used + steps[kept].cost <= limit {
                used += steps[kept].cost
                kept += 1
            }
            steps.removeSubrange(kept...)
            // vLLM reports "tool_calls" whenever a tool call was streamed, even when truncated.
            let lengthFinish = Finish(reason: toolsIn(steps) ? "tool_calls" : "length", stopReason: nil)
            if used == limit, let last = steps.last, last.delta != nil {
                ending = .onLastStep(lengthFinish)
            } else {
                ending = .separate(.empty, lengthFinish)
            }
            completionTokens = limit
        }

        // 5. Script overrides of the finish.
        if let directive {
            if directive.noFinish {
                ending = ending.replacingFinish(nil)
            } else if let reason = directive.finish {
                ending = ending.mappingFinish { Finish(reason: reason, stopReason: $0.stopReason) }
            }
        }
        self.steps = steps
        self.ending = ending
    }

    /// The steps of one parsed tool call: header, one per parameter, closing brace.
    static func toolSteps(_ call: ScriptedToolCall, index: Int) -> [Step] {
        let id = Identifiers.toolCallID()
        var steps = [Step(
            delta: .toolCallStart(index: index, id: id, name: call.name),
            cost: AnswerTokenizer.pieces("<tool_call>\n<function=\(call.name)>\n").count,
            text: nil
        )]
        for (position, member) in call.arguments.members.enumerated() {
            var fragment = position == 0 ? "" : ", "
            fragment += PythonJSON.dumps(.string(member.key), ensureASCII: false)
            fragment += ": "
            fragment += PythonJSON.dumps(member.value, ensureASCII: false)
            steps.append(Step(
                delta: .toolCallArguments(index: index, fragment: fragment),
                cost: AnswerTokenizer.pieces(parameterXML(member)).count,
                text: nil
            ))
        }
        steps.append(Step(
            delta: .toolCallArguments(index: index, fragment: "}"),
            cost: AnswerTokenizer.pieces("</function>\n</tool_call>").count,
            text: nil
        ))
        return steps
    }

    /// A tool call as Qwen3-Coder writes it, for requests where vLLM would not parse it.
    static func qwenXML(_ call: ScriptedToolCall) -> String {
        "<tool_call>\n<function=\(call.name)>\n" + call.arguments.members.map(parameterXML).joined() + "</function>\n</tool_call>"
    }

    private static func parameterXML(_ member: JSONObject.Member) -> String {
        let value = member.value.stringValue ?? PythonJSON.dumps(member.value, ensureASCII: false)
        return "<parameter=\(member.key)>\n\(value)\n</parameter>\n"
    }

    /// The earliest stop string in the generated text: the step it starts in, the text before it in
    /// that step, and the step that completes it.
    static func firstStop(in steps: [Step], stops: [String])
        -> (string: String, stepIndex: Int, endStepIndex: Int, prefix: String)?
    {
        guard !stops.isEmpty else { return nil }
        var text: [UInt8] = []
        var starts: [Int] = []  // byte offset where each step's text starts
        for step in steps {
            starts.append(text.count)
            if let piece = step.text { text.append(contentsOf: piece.utf8) }
        }
        var best: (position: Int, string: String)?
        for stop in stops {
            let needle = Array(stop.utf8)
            guard let position = text.firstIndex(of: needle) else { continue }
            if position < best?.position ?? Int.max { best = (position, stop) }
        }
        guard let best else { return nil }
        let end = best.position + best.string.utf8.count - 1
        // The step holding a given byte of the text.
        func step(containing offset: Int) -> Int? {
            steps.indices.first { index in
                guard let piece = steps[index].text else { return false }
                return starts[index] <= offset && offset < starts[index] + piece.utf8.count
            }
        }
        guard let startStep = step(containing: best.position) else { return nil }
        let endStep = step(containing: end) ?? startStep
        let prefixBytes = text[starts[startStep]..<best.position]
        return (best.string, startStep, endStep, String(decoding: prefixBytes, as: UTF8.self))
    }

}

extension Generation.Ending {
    func replacingFinish(_ finish: Finish?) -> Self {
        switch self {
        case .separate(let delta, _): .separate(delta, finish)
        case .onLastStep: .onLastStep(finish)
        case .midstreamError: self
        }
    }

    func mappingFinish(_ transform: (Finish) -> Finish) -> Self {
        switch self {
        case .separate(let delta, let finish): .separate(delta, finish.map(transform))
        case .onLastStep(let finish): .onLastStep(finish.map(transform))
        case .midstreamError: self
        }
    }

    /// The finish the ending reports, if any.
    var finish: Finish? {
        switch self {
        case .separate(_, let finish), .onLastStep(let finish): finish
        case .midstreamError: nil
        }
    }
}
