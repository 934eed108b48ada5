#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: measures spark-bridge against vLLM directly and against the LiteLLM proxy, in one run on
# this machine, and writes BENCHMARKS.md. Usage: scripts/bench.sh BIN_DIR [spark-bench options...]
#   BIN_DIR  release build directory holding spark-bridge, vllm-sim, spark-bench and core-bench
# Installs LiteLLM into .venv-litellm (scripts/litellm-venv.sh), runs the core microbenchmarks
# (core-bench), then the three-path load scenarios (spark-bench), then the instruction counts of the bridge
# and the simulator under callgrind (scripts/callgrind-cost.py). Takes about 6 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${1:?usage: scripts/bench.sh BIN_DIR [spark-bench options...]}
shift

litellm=$(scripts/litellm-venv.sh | tail -n 1)
work=$(mktemp -d /tmp/spark-bench-report.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "bench: core microbenchmarks (core-bench)"
# The release build has no $ORIGIN rpath (--disable-local-rpath, as packaged): point the loader at the
# malloc interposer library next to core-bench.
LD_LIBRARY_PATH="$bin_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin_dir/core-bench" --markdown "$work/core.md"

# 1024 client connections, 1024 proxy-to-backend connections, and the backend's own.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench: load scenarios (spark-bench)"
"$bin_dir/spark-bench" --bin-dir "$bin_dir" --litellm "$litellm" --core-report "$work/core.md" --output BENCHMARKS.md "$@"

# Instructions per request and per streamed event, bridge vs simulator, under callgrind: the stable figure.
echo "bench: instruction counts (scripts/callgrind-cost.py, valgrind --tool=callgrind)"
quick=()
for arg in "$@"; do [ "$arg" = --quick ] && quick=(--quick); done
if command -v valgrind >/dev/null; then
    scripts/callgrind-cost.py "$bin_dir" "${quick[@]}" --append BENCHMARKS.md
else
    echo "bench: valgrind is not installed; instruction counts left out (apt-get install valgrind)" >&2
fi
