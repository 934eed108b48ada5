#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Creates (or reuses) the LiteLLM proxy venv that `make bench` compares spark-bridge against.
# Usage: scripts/litellm-venv.sh        (PYTHON=python3.11 to choose the interpreter; default python3)
# The venv is .venv-litellm in the repository root. It holds exactly Benchmarks/litellm/requirements.lock,
# installed with --no-deps and checked with `pip check`, and is reinstalled only when the lock or
# the interpreter changes (a stamp file records their hash). Progress goes to stderr; the last (only)
# line on stdout is the absolute path of the `litellm` executable.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

python=${PYTHON:-python3}
lock=Benchmarks/litellm/requirements.lock
venv=.venv-litellm
stamp="$venv/.litellm-lock.sha256"

command -v "$python" >/dev/null 2>&1 || {
    echo "litellm-venv: $python not found (on Debian 12: scripts/ensure-deps.sh test installs python3-venv)" >&2
    exit 1
}
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != 3.11 ]; then
    echo "litellm-venv: $lock is resolved for Python 3.11; $python is $version (set PYTHON=python3.11)" >&2
    exit 1
fi
interpreter=$("$python" -c 'import sys; print(sys.executable, sys.version)')
wanted=$( { sha256sum "$lock" | cut -d' ' -f1; echo "$interpreter"; } | sha256sum | cut -d' ' -f1)

if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ] || ! "$venv/bin/python" -c '' 2>/dev/null; then
    echo "litellm-venv: creating $venv from $lock" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --no-deps -r "$lock" >&2
    if ! problems=$("$venv/bin/python" -m pip check --disable-pip-version-check 2>&1); then
        echo "litellm-venv: $lock is not a complete, consistent set:" >&2
        echo "$problems" >&2
        exit 1
    fi
    echo "$wanted" > "$stamp"
fi
echo "$root/$venv/bin/litellm"
