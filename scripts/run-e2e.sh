#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests: real vllm-sim and spark-bridge processes driven by the official anthropic and
# openai Python SDKs (Tests/e2e). Usage: scripts/run-e2e.sh [--build] [pytest args...]
#   --build   run `swift build` even when the binaries exist (otherwise only when they are missing)
# The venv lives in .venv and is reinstalled only when Tests/e2e/requirements.txt changes.
# Exits non-zero when a test fails or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

force_build=0
if [ "${1:-}" = "--build" ]; then force_build=1; shift; fi

requirements=Tests/e2e/requirements.txt
venv=.venv
stamp="$venv/.e2e-requirements.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
    echo "run-e2e: creating $venv"
    python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "run-e2e: installing $requirements"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi

bin_dir=$(swift build --show-bin-path)
if [ "$force_build" = 1 ] || [ ! -x "$bin_dir/spark-bridge" ] || [ ! -x "$bin_dir/vllm-sim" ]; then
    echo "run-e2e: swift build"
    swift build
fi
export SPARK_BRIDGE_BIN_DIR="$bin_dir"
export PYTHONDONTWRITEBYTECODE=1

# The suite runs in a network namespace of its own with only the loopback interface up (root can make
# one): no test can reach anything but 127.0.0.0/8, and the real Claude Code CLI's suite checks it.
pytest=("$venv/bin/python" -m pytest Tests/e2e -q -ra --durations=5 "$@")
if [ "${SPARK_BRIDGE_E2E_NETNS:-}" != 1 ] && unshare --net true 2>/dev/null; then
    pytest=(unshare --net env SPARK_BRIDGE_E2E_NETNS=1 sh -c 'ip link set lo up && exec "$0" "$@"' "${pytest[@]}")
else
    echo "run-e2e: cannot make a network namespace (not root?): the Claude Code suite will refuse to run" >&2
fi
status=0
"${pytest[@]}" || status=$?
case "$status" in
    0) ;;
    5) echo "run-e2e: FAILED: no tests ran (pytest exit status 5)" >&2; exit 5 ;;
    *) echo "run-e2e: FAILED (pytest exit status $status)" >&2 ;;
esac
exit "$status"
