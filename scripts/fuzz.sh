#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (Fuzz/Targets): builds them with -sanitize=fuzzer,address in .build-fuzz and runs
# each for a number of executions or a time budget, seeded from Fuzz/Corpus/<target> (committed) and
# the inputs earlier runs found (.build-fuzz/corpus/<target>, not committed).
# Usage: scripts/fuzz.sh [target...]          (default: every target)
#   FUZZ_RUNS=N      executions per target (default 200000)
#   FUZZ_SECONDS=S   time budget per target instead of FUZZ_RUNS
#   FUZZ_ARGS="..."  more libFuzzer options (e.g. -jobs=2, -only_ascii=1)
# A crash, a trap, a leak, an input slower than FUZZ_TIMEOUT seconds (default 10) or a process above
# FUZZ_RSS_MB (default 2048) fails the target; its input is saved under .build-fuzz/artifacts/<target>/
# and replayed with `.build-fuzz/release/<target> <file>`. Exits non-zero when any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# Swift's own crash backtracer would race libFuzzer's and AddressSanitizer's handlers (and can wait
# on a terminal): libFuzzer reports the crash and saves the input.
export SWIFT_BACKTRACE=enable=no

all_targets=(fuzz-json fuzz-request fuzz-stream fuzz-upstream-error fuzz-config fuzz-control fuzz-metrics fuzz-relay)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
scratch=.build-fuzz
runs=${FUZZ_RUNS:-200000}
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}

# The fuzz targets exist in the package only with SPARK_BRIDGE_FUZZ=1 (see Package.swift); the
# toolset links with lld (gold rejects libFuzzer's runtime next to a Swift entry point).
build=(env SPARK_BRIDGE_FUZZ=1 swift build -c release --scratch-path "$scratch" --toolset Fuzz/toolset.json
    -Xswiftc -sanitize=fuzzer,address)
mkdir -p "$scratch/logs"
for target in "${targets[@]}"; do
    [ -d "Fuzz/Targets/$target" ] || { echo "fuzz: no target $target (have: ${all_targets[*]})" >&2; exit 2; }
    echo "fuzz: building $target"
    if ! "${build[@]}" --product "$target" >"$scratch/logs/build-$target.log" 2>&1; then
        grep -v "^\[" "$scratch/logs/build-$target.log" >&2
        echo "fuzz: building $target failed" >&2
        exit 1
    fi
done
bin="$("${build[@]}" --show-bin-path)"

budget=(-runs="$runs")
[ -z "${FUZZ_SECONDS:-}" ] || budget=(-max_total_time="$FUZZ_SECONDS")
summary=()
failed=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target/"
    log="$scratch/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    dictionary=()
    [ ! -f "Fuzz/Dictionaries/$target.dict" ] || dictionary=(-dict="Fuzz/Dictionaries/$target.dict")
    echo "fuzz: running $target (${budget[*]}, log in $log)"
    status=0
    # shellcheck disable=SC2086
    "$bin/$target" "${budget[@]}" -timeout="$timeout" -rss_limit_mb="$rss_mb" -max_len="${FUZZ_MAX_LEN:-65536}" \
        -artifact_prefix="$artifacts" -print_final_stats=1 "${dictionary[@]}" ${FUZZ_ARGS:-} \
        "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    if [ "$status" -eq 0 ]; then
        result="ok"
    else
        failed=1
        result="FAILED (exit $status): $(ls -t "$artifacts" 2>/dev/null | head -1 | sed "s|^|$artifacts|")"
        grep -E -m 5 -e "^==[0-9]+==ERROR" -e "Fatal error" -e "SUMMARY" -e "ALARM" -e "out-of-memory" "$log" >&2 || true
    fi
    summary+=("$(printf '%-20s %12s runs %8s exec/s  %-22s %s' "$target" "${executions:-?}" "${speed:-?}" "${coverage:-}" "$result")")
done
printf '%s\n' "fuzz: summary" "${summary[@]}"
exit "$failed"
