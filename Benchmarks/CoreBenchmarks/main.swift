// SPDX-License-Identifier: Apache-2.0
// core-bench: microbenchmarks of the translation core (BridgeCore, BridgeJSON) with allocation counts,
// each reported as a ratio to a baseline measured in the same process.
//
//   swift build -c release --product core-bench
//   .build/release/core-bench [--quick] [--markdown PATH] [--json PATH] [--filter TEXT]
//
// Without --markdown or --json the markdown section goes to stdout; progress goes to stderr. A full run
// takes about 25 s; --quick a second or two (a smoke test: its numbers are not meaningful).
// Allocation counting needs the malloc interposer preloaded: core-bench re-executes itself with
// LD_PRELOAD set to the libMallocInterposerSwift.so beside it when it finds counting off.

import BenchWorkloads
import BridgeJSON
import Foundation

let usage = """
    usage: core-bench [--quick] [--markdown PATH] [--json PATH] [--filter TEXT]
      --quick          few short rounds: checks that everything runs, numbers not meaningful
      --markdown PATH  write the markdown section (table and workload sizes) to PATH
      --json PATH      write the numbers as JSON to PATH
      --filter TEXT    only the comparisons whose benchmark or baseline name contains TEXT
    With neither --markdown nor --json, the markdown goes to stdout.
    """

var markdownPath: String?
var jsonPath: String?
var quick = false
var filter: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--quick": quick = true
    case "--markdown", "--json", "--filter":
        guard let value = arguments.popFirst() else { AllocationCounting.fail("\(argument) needs a value\n\(usage)") }
        if argument == "--markdown" { markdownPath = value } else if argument == "--json" { jsonPath = value } else { filter = value }
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        AllocationCounting.fail("unknown argument \(argument)\n\(usage)")
    }
}

AllocationCounting.ensureActive()

func progress(_ text: String) {
    FileHandle.standardError.write(Data("core-bench: \(text)\n".utf8))
}

let plan = quick ? Plan.quick : Plan.full
let started = Date()
let inputs = Inputs()
progress(inputs.request.summary)
var results: [Result] = []
for comparison in comparisons(inputs) {
    if let filter, !comparison.benchmark.name.contains(filter), !comparison.baseline.name.contains(filter) { continue }
    let measured = Harness.measure(comparison, plan: plan)
    results += [measured.baseline, measured.benchmark]
    progress("\(measured.benchmark.name): \(Report.grouped(measured.benchmark.medianNanoseconds)) ns/\(measured.benchmark.unit), "
        + "\(Report.grouped(measured.benchmark.ratio, decimals: 2))× \(measured.baseline.name)")
}
let report = Report(results: results, inputs: inputs, plan: plan, quick: quick)
progress("done in \(Report.grouped(Date().timeIntervalSince(started), decimals: 1)) s")

func write(_ bytes: [UInt8], to path: String) {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { AllocationCounting.fail("cannot write \(path)") }
}

if let markdownPath { write(Array(report.markdown.utf8), to: markdownPath) }
if let jsonPath { write(report.json.jsonBytes + [0x0A], to: jsonPath) }
if markdownPath == nil, jsonPath == nil { print(report.markdown, terminator: "") }
