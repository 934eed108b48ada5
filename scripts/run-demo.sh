#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run` without CONFIG=: vllm-sim and a spark-bridge in front of it, both on loopback, so the
# bridge answers with no GPU, no configuration and no network. Ctrl-C (SIGINT) or SIGTERM stops both.
#
# Usage: scripts/run-demo.sh BIN_DIR
#   PORT       the bridge's port on 127.0.0.1 (default 4000; 0 picks a free one)
#   SIM_PORT   vllm-sim's port on 127.0.0.1 (default 0: a free one)
# The bridge loads etc/demo/demo.yaml; its api_base is the simulator's address, handed over in
# SPARK_DEMO_API_BASE. The control socket is in a fresh directory under $TMPDIR, printed below.
set -euo pipefail
bin=${1:?usage: run-demo.sh BIN_DIR}
cd "$(dirname "$0")/.."
port=${PORT:-4000}
sim_port=${SIM_PORT:-0}
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/spark-bridge-run.XXXXXX")
# Made before the processes start, so that the banners can be looked for at once.
: >"$run_dir/vllm-sim.out"
: >"$run_dir/spark-bridge.out"
sim_pid=
bridge_pid=

stop() {
	trap - INT TERM EXIT
	for pid in $bridge_pid $sim_pid; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in $bridge_pid $sim_pid; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$run_dir"
}
trap 'stop; echo; echo "stopped"; exit 0' INT TERM
trap 'stop' EXIT

# Waits for "NAME listening on URL" in FILE from process PID; prints URL.
await_banner() { # NAME PID FILE
	local tries=0 url
	while [ $tries -lt 200 ]; do
		url=$(sed -n "s/^$1 listening on \(http:\/\/[^ ]*\)$/\1/p" "$3" | head -n 1)
		if [ -n "$url" ]; then echo "$url"; return 0; fi
		kill -0 "$2" 2>/dev/null || { echo "run-demo: $1 exited before listening" >&2; return 1; }
		sleep 0.05
		tries=$((tries + 1))
	done
	echo "run-demo: $1 did not start within 10 s" >&2
	return 1
}

"$bin/vllm-sim" --host 127.0.0.1 --port "$sim_port" --tokens-per-second 40 --ttft-ms 150 >"$run_dir/vllm-sim.out" &
sim_pid=$!
sim_url=$(await_banner vllm-sim "$sim_pid" "$run_dir/vllm-sim.out")

SPARK_DEMO_API_BASE=$sim_url/v1 "$bin/spark-bridge" --config etc/demo/demo.yaml \
	--listen "127.0.0.1:$port" --control-socket "$run_dir/control.sock" >"$run_dir/spark-bridge.out" &
bridge_pid=$!
url=$(await_banner spark-bridge "$bridge_pid" "$run_dir/spark-bridge.out")

cat <<MSG

  spark-bridge listening on $url, in front of vllm-sim on $sim_url (canned answers, no GPU).
  Try:
    curl -sN $url/v1/messages -H 'content-type: application/json' \\
      -d '{"model":"claude-sonnet-4-5","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
    ANTHROPIC_BASE_URL=$url ANTHROPIC_API_KEY=demo claude
  Watch it:  $bin/sparkctl --socket $run_dir/control.sock top
  Ctrl-C stops both.

MSG
wait "$bridge_pid"
