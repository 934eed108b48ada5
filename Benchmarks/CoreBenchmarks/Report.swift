// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads
import BridgeJSON

/// The markdown section and the JSON document of a run.
struct Report {
    var results: [Result]
    var inputs: Inputs
    var plan: Plan
    var quick: Bool

    #if DEBUG
    static let buildConfiguration = "debug"
    #else
    static let buildConfiguration = "release"
    #endif

    static func grouped(_ value: Double, decimals: Int = 0) -> String {
        var scaled = value
        for _ in 0..<decimals { scaled *= 10 }
        let rounded = Int(scaled.rounded())
        let whole = rounded / pow10(decimals)
        let fraction = rounded % pow10(decimals)
        var digits = String(whole)
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(digits.suffix(3), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        let fractionText = decimals == 0 ? "" : "." + String(repeating: "0", count: decimals - String(fraction).count) + String(fraction)
        return groups.joined(separator: ",") + fractionText
    }

    static func pow10(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { result, _ in result * 10 } }

    var streamLine: String {
        let text = inputs.textStream
        let tool = inputs.toolStream
        return "vLLM streams from vllm-sim's encoder: text answer of \(text.textPieces.count) tokens "
            + "(\(text.events.count) chunks, \(ClaudeCodeWorkload.kilobytes(text.byteCount))); "
            + "\(tool.textPieces.count) tokens then an Edit tool call "
            + "(\(tool.events.count) chunks, \(ClaudeCodeWorkload.kilobytes(tool.byteCount))); "
            + "whole response of \(inputs.smallAnswer.textPieces.count) tokens (\(ClaudeCodeWorkload.kilobytes(inputs.smallAnswer.responseBody.count)))."
    }

    var markdown: String {
        var lines = [
            "### Core microbenchmarks (`core-bench`\(quick ? " --quick" : ""))",
            "",
            "Workload: \(inputs.request.summary). \(streamLine)",
            "",
            "| benchmark | unit | iterations | ns/op median | ns/op min | mallocs/op | bytes/op | ratio to baseline |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results {
            let ratio = result.baseline.map { "**\(Self.grouped(result.ratio, decimals: 2))×** `\($0)`" } ?? "baseline"
            lines.append(
                "| `\(result.name)` | \(result.unit) | \(Self.grouped(Double(result.iterations))) | \(Self.grouped(result.medianNanoseconds)) "
                    + "| \(Self.grouped(result.minimumNanoseconds)) | \(Self.grouped(result.mallocsPerUnit, decimals: 1)) "
                    + "| \(Self.grouped(result.bytesPerUnit)) | \(ratio) |"
            )
        }
        lines += [
            "",
            "\(Self.buildConfiguration) build; \(plan.rounds) rounds per benchmark, each benchmark's rounds alternating with its baseline's; "
                + "ratio = median over rounds of benchmark time / baseline time. Per-chunk rows cover every `data:` event of the stream "
                + "(role, tokens, finish, usage, `[DONE]`). Allocations are counted in a separate run (malloc interposer, preloaded). "
                + "Absolute times are for this machine and this run only: compare ratios, not nanoseconds, across runs.",
        ]
        #if DEBUG
        lines.append("")
        lines.append("**Debug build: these numbers mean nothing. Build with `swift build -c release --product core-bench`.**")
        #endif
        return lines.joined(separator: "\n") + "\n"
    }

    var json: JSONValue {
        let sizes = inputs.request.sizes
        let shape = inputs.request.shape
        return [
            "build": .string(Self.buildConfiguration),
            "quick": .bool(quick),
            "rounds": .int(plan.rounds),
            "workload": [
                "summary": .string(inputs.request.summary),
                "system_bytes": .int(sizes.systemBytes),
                "tools_bytes": .int(sizes.toolsBytes),
                "system_and_tools_bytes": .int(sizes.systemAndToolsBytes),
                "history_bytes": .int(sizes.historyBytes),
                "body_bytes": .int(sizes.bodyBytes),
                "tools": .int(shape.toolCount),
                "messages": .int(shape.messageCount),
                "tool_results": .int(shape.toolResultCount),
                "text_stream_chunks": .int(inputs.textStream.events.count),
                "tool_stream_chunks": .int(inputs.toolStream.events.count),
                "whole_response_bytes": .int(inputs.smallAnswer.responseBody.count),
            ],
            "benchmarks": .array(results.map { result in
                [
                    "name": .string(result.name),
                    "unit": .string(result.unit),
                    "baseline": result.baseline.map { .string($0) } ?? .null,
                    "iterations": .int(result.iterations),
                    "rounds": .int(result.rounds),
                    "median_ns": .number(Self.decimal(result.medianNanoseconds)),
                    "min_ns": .number(Self.decimal(result.minimumNanoseconds)),
                    "mallocs_per_op": .number(Self.decimal(result.mallocsPerUnit)),
                    "bytes_per_op": .number(Self.decimal(result.bytesPerUnit)),
                    "ratio": .number(Self.decimal(result.ratio)),
                ]
            }),
        ]
    }

    /// A JSON number with at most three decimals.
    static func decimal(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = abs(thousandths)
        let fraction = magnitude % 1000
        if fraction == 0 { return sign + String(magnitude / 1000) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return sign + String(magnitude / 1000) + "." + digits
    }
}
